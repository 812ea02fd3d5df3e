// The Kubernetes calls the births writer makes, and nothing more: read the
// Pod (owner), create / merge-patch / status-patch / delete certificates, list
// orphans. Kept apart from ../kube.ts so each side stays small.
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION, API_VERSION, type OwnerReference } from "../../shared/model/meta.ts";
import type {
  PodBirthCertificate,
  PodBirthCertificateSpec,
  PodBirthCertificateStatus,
} from "../../shared/model/pod-birth-certificate.ts";
import { crdIn, isNotFound, merge } from "../kube.ts";
import { apiClient } from "../kube-http.ts";

const PLURAL = "podbirthcertificates";

/** The API server's own message from a failed call (its Status body), for logs. */
export function apiMessage(err: unknown): string {
  if (err instanceof k8s.ApiException && typeof err.body === "string") {
    try {
      const status = JSON.parse(err.body) as { message?: unknown };
      if (typeof status.message === "string") return `HTTP ${err.code}: ${status.message}`;
    } catch {
      // not a Status object: fall through
    }
  }
  return String(err).slice(0, 500);
}

export type BirthsApi = ReturnType<typeof birthsApi>;

export function birthsApi(kc: k8s.KubeConfig, http: k8s.HttpLibrary) {
  const custom = apiClient(kc, k8s.CustomObjectsApi, http);
  const core = apiClient(kc, k8s.CoreV1Api, http);
  const crd = crdIn(PLURAL);

  return {
    /** The Pod's UID, or undefined when it no longer exists. */
    async podUID(namespace: string, name: string): Promise<string | undefined> {
      try {
        const pod = await core.readNamespacedPod({ namespace, name });
        return pod.metadata?.uid;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },

    async create(
      namespace: string,
      name: string,
      labels: Record<string, string>,
      owners: OwnerReference[],
      spec: PodBirthCertificateSpec,
    ): Promise<PodBirthCertificate> {
      const metadata = {
        name,
        namespace,
        labels,
        ...(owners.length ? { ownerReferences: owners } : {}),
      };
      const body = { apiVersion: API_VERSION, kind: "PodBirthCertificate", metadata, spec };
      return (await custom.createNamespacedCustomObject({
        ...crd(namespace),
        body,
      })) as PodBirthCertificate;
    },

    async get(namespace: string, name: string): Promise<PodBirthCertificate | undefined> {
      try {
        return (await custom.getNamespacedCustomObject({
          ...crd(namespace),
          name,
        })) as PodBirthCertificate;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },

    /** Merge patch: labels merge, ownerReferences and spec lists are replaced whole. */
    async patch(namespace: string, name: string, body: object): Promise<PodBirthCertificate> {
      return (await custom.patchNamespacedCustomObject(
        { ...crd(namespace), name, body },
        merge,
      )) as PodBirthCertificate;
    },

    async patchStatus(namespace: string, name: string, status: PodBirthCertificateStatus) {
      return (await custom.patchNamespacedCustomObjectStatus(
        { ...crd(namespace), name, body: { status } },
        merge,
      )) as PodBirthCertificate;
    },

    /** Certificates in every namespace carrying `labelSelector`. */
    async list(labelSelector: string): Promise<PodBirthCertificate[]> {
      const res = (await custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        labelSelector,
      })) as { items: PodBirthCertificate[] };
      return res.items;
    },

    /** Deletes that very object (UID precondition); false when it was already gone. */
    async delete(namespace: string, name: string, uid: string | undefined): Promise<boolean> {
      try {
        await custom.deleteNamespacedCustomObject({
          ...crd(namespace),
          name,
          ...(uid ? { body: { preconditions: { uid } } } : {}),
        });
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },

    createEvent: (event: k8s.CoreV1Event) =>
      core.createNamespacedEvent({ namespace: event.metadata.namespace ?? "default", body: event }),
  };
}
