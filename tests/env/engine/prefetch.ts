// What the container engine test (tests/compose-engine.test.ts) fetches from Debian's
// archive, fetched by scripts/setup.sh instead so the test itself needs no network
// (ADR 0072, 0073): the Debian 12 root filesystems the stand-in images start from
// (debootstrap, cached as tarballs under $KG_CACHE/standins/) and Debian's docker.io
// package (Docker Engine 20.10, unpacked into $KG_CACHE/docker.io-deb-<version>/, not
// installed). Both are keyed by what they are made of and published by rename, so a
// second run only checks. Needs root (debootstrap).
import { debianEngine } from "./dockerd.ts";
import { standInRoots } from "./standins.ts";

const log = (s: string) => process.stderr.write(`engine test inputs: ${s}\n`);

const started = Date.now();
for (const tar of await standInRoots()) log(`stand-in root filesystem ${tar}`);
const old = await debianEngine();
log(`Docker Engine ${old.version} (Debian's docker.io, unpacked) at ${old.dockerd}`);
log(`ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
