// CustomResourceDefinitions built from the model schemas. deploy/crds/*.yaml
// are generated from here (npm run gen); a test fails if they differ.
import { Type, type TSchema } from "@sinclair/typebox";
import { KernelWhisperSpecSchema, KernelWhisperStatusSchema } from "../model/kernel-whisper.ts";
import { GROUP, VERSION } from "../model/meta.ts";
import {
  PodBirthCertificateSpecSchema,
  PodBirthCertificateStatusSchema,
} from "../model/pod-birth-certificate.ts";
import { OpaqueObject, plainSchema } from "../model/schema.ts";

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "date" | "boolean";
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  columns: PrinterColumn[];
}

export type CustomResourceDefinition = ReturnType<typeof crd>;

function crd(input: CrdInput) {
  const root = Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      metadata: Type.Optional(OpaqueObject()),
      spec: input.spec,
      status: Type.Optional(input.status),
    },
    { description: input.description },
  );
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/part-of": "kernel-gossip" },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: input.shortNames,
        categories: ["kernel-gossip"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: { openAPIV3Schema: plainSchema(root) },
        },
      ],
    },
  };
}

export const kernelWhisperCrd = crd({
  kind: "KernelWhisper",
  plural: "kernelwhispers",
  singular: "kernelwhisper",
  shortNames: ["kw"],
  description:
    "A kernel-level problem observed on a workload: the kernel's evidence, what averaged metrics said, and a recommendation.",
  spec: KernelWhisperSpecSchema,
  status: KernelWhisperStatusSchema,
  columns: [
    { name: "Signal", type: "string", jsonPath: ".spec.signal" },
    { name: "Severity", type: "string", jsonPath: ".spec.severity" },
    { name: "Pod", type: "string", jsonPath: ".spec.subject.pod" },
    { name: "Container", type: "string", jsonPath: ".spec.subject.container", priority: 1 },
    { name: "Node", type: "string", jsonPath: ".spec.subject.node", priority: 1 },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Seen", type: "integer", jsonPath: ".spec.occurrences" },
    { name: "Action", type: "string", jsonPath: ".status.recommendation.action" },
    { name: "Source", type: "string", jsonPath: ".spec.source", priority: 1 },
    { name: "Insight", type: "string", jsonPath: ".status.insight", priority: 1 },
    { name: "Last-Seen", type: "date", jsonPath: ".spec.lastSeen" },
  ],
});

export const podBirthCertificateCrd = crd({
  kind: "PodBirthCertificate",
  plural: "podbirthcertificates",
  singular: "podbirthcertificate",
  shortNames: ["pbc"],
  description: "The kernel cascade of one pod's start, as a timeline with totals.",
  spec: PodBirthCertificateSpecSchema,
  status: PodBirthCertificateStatusSchema,
  columns: [
    { name: "Pod", type: "string", jsonPath: ".spec.subject.pod" },
    { name: "Node", type: "string", jsonPath: ".spec.subject.node" },
    {
      name: "Duration-s",
      type: "number",
      jsonPath: ".spec.kernelStats.totalDurationSeconds",
      description: "Seconds from the first kernel event to the entrypoint's exec.",
    },
    { name: "Syscalls", type: "integer", jsonPath: ".spec.kernelStats.syscalls" },
    { name: "Execs", type: "integer", jsonPath: ".spec.kernelStats.execs" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
});

export const CRDS = [kernelWhisperCrd, podBirthCertificateCrd];
