// The component images, checked without a container engine (none runs here;
// hadolint is not packaged): every Dockerfile is multi-stage with base images
// pinned to exact versions, carries the OCI labels, runs non-root where the
// component allows (the observer documents why it cannot), copies only files
// that exist and that .dockerignore keeps, and names the image the manifests,
// the chart and docker-compose.yaml use. The TypeScript images' build stage is
// replayed on the host (same files, same bundle script) and the bundle they ship
// is started alone against the real API server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { freePort } from "../src/local/runtime/cluster.ts";
import { copyArgs, ignored, labels, parseDockerfile } from "./env/dockerfile.ts";
import { helmTemplate } from "./env/helm.ts";
import { httpOk, launch, stopChild, waitFor } from "../src/local/runtime/process.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const run = promisify(execFile);
const COMPONENTS = {
  observer: { dockerfile: "observer/Dockerfile", deploy: "deploy/base/observer/daemonset.yaml" },
  operator: {
    dockerfile: "src/operator/Dockerfile",
    deploy: "deploy/base/operator/deployment.yaml",
  },
  gateway: { dockerfile: "src/gateway/Dockerfile", deploy: "deploy/base/gateway/deployment.yaml" },
} as const;
type Component = keyof typeof COMPONENTS;
const NON_ROOT_UID = 65532; // runAsUser in deploy/ and the chart
const OCI = ["title", "description", "version", "licenses", "source"].map(
  (k) => `org.opencontainers.image.${k}`,
);

const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

interface PodSpec {
  containers: {
    image: string;
    ports: { containerPort: number }[];
    securityContext?: { runAsUser?: number };
  }[];
  securityContext?: { runAsUser?: number };
}
const deployPod = (c: Component) =>
  (
    parse(readFileSync(join(REPO_ROOT, COMPONENTS[c].deploy), "utf8")) as {
      spec: { template: { spec: PodSpec } };
    }
  ).spec.template.spec;

let kube: TestCluster;
before(async () => {
  kube = await testCluster();
});
after(() => closeTestCluster());

for (const c of Object.keys(COMPONENTS) as Component[]) {
  const file = COMPONENTS[c].dockerfile;
  const stages = parseDockerfile(join(REPO_ROOT, file));
  const final = stages.at(-1);

  test(`${file}: multi-stage, base images pinned to exact versions`, () => {
    assert.ok(stages.length >= 2, "not multi-stage");
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    for (const s of stages) {
      if (names.has(s.from)) continue;
      const digest = /@sha256:[0-9a-f]{64}$/.test(s.from);
      const tag = /^[\w./-]+:(\S+)$/.exec(s.from)?.[1] ?? "";
      assert.ok(
        digest || /\d+\.\d+(\.\d+)?/.test(tag),
        `${s.from}: not pinned to an exact version`,
      );
      assert.doesNotMatch(tag, /latest/);
    }
  });

  test(`${file}: OCI labels`, () => {
    assert.ok(final);
    const l = labels(final);
    for (const k of OCI) assert.ok(l[k], `missing label ${k}`);
    assert.equal(l["org.opencontainers.image.title"], `kernel-gossip-${c}`);
    assert.equal(l["org.opencontainers.image.licenses"], "Apache-2.0");
  });

  test(`${file}: user, port and image name agree with deploy/, the chart and compose`, async () => {
    assert.ok(final);
    const user = final.instructions.filter((i) => i.op === "USER").at(-1)?.args ?? "";
    const pod = deployPod(c);
    if (c === "observer") {
      // Root with a bounded capability set; the Dockerfile must say why.
      assert.equal(user, "0:0");
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      for (const why of ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "host PID", "/sys"]) {
        assert.ok(text.includes(why), `observer Dockerfile does not document ${why}`);
      }
      assert.equal(pod.containers[0]?.securityContext?.runAsUser, 0);
    } else {
      assert.equal(user, `${NON_ROOT_UID}:${NON_ROOT_UID}`);
      assert.equal(pod.securityContext?.runAsUser, NON_ROOT_UID);
    }
    const exposed = final.instructions.filter((i) => i.op === "EXPOSE").map((i) => Number(i.args));
    assert.deepEqual(exposed, [pod.containers[0]?.ports[0]?.containerPort]);

    const version = (
      parse(readFileSync(join(REPO_ROOT, "charts/kernel-gossip/Chart.yaml"), "utf8")) as {
        appVersion: string;
      }
    ).appVersion;
    const image = `kernel-gossip/${c}:${version}`;
    assert.equal(pod.containers[0]?.image, image, "deploy/ image");
    const chart = (await helmTemplate("kernel-gossip")).objects.find(
      (o) =>
        o.metadata.name === `kernel-gossip-${c}` &&
        (o.kind === "DaemonSet" || o.kind === "Deployment"),
    ) as { spec: { template: { spec: PodSpec } } } | undefined;
    assert.equal(chart?.spec.template.spec.containers[0]?.image, image, "chart image");
    const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yaml"), "utf8")) as {
      services: Record<string, { image?: string; build?: { context: string; dockerfile: string } }>;
    };
    assert.equal(compose.services[c]?.image, image, "compose image");
    assert.deepEqual(
      compose.services[c].build,
      { context: ".", dockerfile: file },
      "compose build",
    );
    const version_ = /ARG VERSION=(\S+)/.exec(readFileSync(join(REPO_ROOT, file), "utf8"))?.[1];
    assert.equal(version_, version, "ARG VERSION (label) differs from the chart's appVersion");
  });

  test(`${file}: every COPY source exists in the build context and .dockerignore keeps it`, () => {
    let copies = 0;
    for (const s of stages) {
      for (const ins of s.instructions.filter((i) => i.op === "COPY" || i.op === "ADD")) {
        const { flags, srcs } = copyArgs(ins);
        if (flags.from) continue;
        for (const src of srcs) {
          copies++;
          assert.ok(existsSync(join(REPO_ROOT, src)), `line ${ins.line}: ${src} does not exist`);
          assert.ok(
            !ignored(dockerignore, src),
            `line ${ins.line}: ${src} is excluded by .dockerignore`,
          );
        }
      }
    }
    assert.ok(copies > 0);
  });
}

test("observer/Dockerfile copies every tracked source the Rust build needs", async () => {
  const { stdout } = await run("git", ["ls-files", "observer"], { cwd: REPO_ROOT });
  const copied = parseDockerfile(join(REPO_ROOT, COMPONENTS.observer.dockerfile))
    .flatMap((s) => s.instructions.filter((i) => i.op === "COPY"))
    .map(copyArgs)
    .filter((c) => !c.flags.from)
    .flatMap((c) => c.srcs);
  const needed = stdout
    .split("\n")
    .filter(
      (f) =>
        f &&
        !f.startsWith("observer/tests/") &&
        !f.endsWith("/.gitignore") &&
        !f.endsWith(".md") &&
        !f.endsWith("Dockerfile"),
    );
  for (const f of needed) {
    assert.ok(
      copied.some((src) => f === src || f.startsWith(`${src}/`)),
      `${f} is tracked but not copied into the build stage`,
    );
  }
});

// The build stage on the host: only the files the Dockerfile copies (node_modules from
// `npm ci` here is the repository's, same lockfile), the same RUN, then the bundle runs
// from a directory with nothing else in it, as in the runtime stage.
for (const c of ["operator", "gateway"] as const) {
  test(`${c} image: the build stage bundles from its copied files and the bundle serves /healthz alone`, async () => {
    const stages = parseDockerfile(join(REPO_ROOT, COMPONENTS[c].dockerfile));
    const build = stages[0];
    assert.ok(build);
    const ctx = mkdtempSync(join(tmpdir(), `kg-image-${c}-`));
    const out = mkdtempSync(join(tmpdir(), `kg-image-${c}-out-`));
    try {
      for (const ins of build.instructions.filter((i) => i.op === "COPY")) {
        const { srcs, dest } = copyArgs(ins);
        for (const src of srcs) {
          const target =
            dest.endsWith("/") || srcs.length > 1
              ? join(ctx, dest, src.split("/").pop() ?? "")
              : join(ctx, dest);
          cpSync(join(REPO_ROOT, src), target.replace(/\/$/, ""), { recursive: true });
        }
      }
      symlinkSync(join(REPO_ROOT, "node_modules"), join(ctx, "node_modules"));
      const bundleRun = build.instructions.find(
        (i) => i.op === "RUN" && i.args.includes("bundle.sh"),
      );
      assert.ok(bundleRun, "no bundle step");
      await run("sh", ["-c", bundleRun.args.replace("/out", out)], { cwd: ctx });
      const main = join(out, "main.mjs");
      assert.ok(existsSync(main));
      const port = await freePort();
      const logPath = join(out, "log");
      const env: Record<string, string> =
        c === "gateway"
          ? {
              KG_LISTEN: `127.0.0.1:${port}`,
              KG_GATEWAY_TOKENS: "image-test",
              KUBECONFIG: kube.kubeconfig,
            }
          : {
              KG_LISTEN: `127.0.0.1:${port}`,
              KG_KUBECONFIG: kube.kubeconfig,
              KG_LEADER_ELECTION: "false",
              KG_NAMESPACE: "default",
            };
      // cwd = the bundle's dir: no node_modules, no sources, as in the image.
      const child = launch(process.execPath, [main], logPath, { ...env, NODE_PATH: "" });
      try {
        await waitFor(`${c} bundle`, child, logPath, 60_000, () =>
          httpOk(`http://127.0.0.1:${port}/healthz`),
        );
        // Ready means its Kubernetes client works from the bundle: the gateway's
        // informers synced, the operator (no leader election) acting.
        await waitFor(`${c} bundle ready`, child, logPath, 60_000, () =>
          httpOk(`http://127.0.0.1:${port}/readyz`),
        );
        if (c === "gateway") {
          const res = await fetch(`http://127.0.0.1:${port}/openapi.json`, {
            headers: { authorization: "Bearer image-test" },
          });
          assert.equal(res.status, 200);
          assert.match(await res.text(), /"openapi":"3\.1/);
        }
      } finally {
        await stopChild(child);
      }
    } finally {
      rmSync(ctx, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
}
