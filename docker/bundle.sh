#!/bin/sh
# Bundles one TypeScript service (src/<component>/main.ts) into a single ES module
# with esbuild (installed with tsx), so the runtime image needs Node and nothing
# from node_modules. Used by the operator and gateway Dockerfiles and by
# tests/containers.test.ts, which runs the bundle it makes.
#   docker/bundle.sh <component> <out-dir>
set -eu
component=$1
out=$2
mkdir -p "$out"
# Bundled CommonJS dependencies call require(); an ES module has none, so give it one.
./node_modules/.bin/esbuild "src/$component/main.ts" \
  --bundle --platform=node --target=node20 --format=esm \
  --outfile="$out/main.mjs" --log-level=warning \
  --banner:js="import { createRequire as __kgCreateRequire } from 'node:module'; const require = __kgCreateRequire(import.meta.url);"
# The gateway reads files at run time relative to its module (import.meta.url):
# Pixie's PxL scripts with their manifest (src/pixie/manifest.ts) and the .proto
# message definitions of the Vizier client and the OTLP receiver.
if [ "$component" = gateway ]; then
  rm -rf "$out/scripts"
  cp -r src/pixie/scripts "$out/scripts"
  cp src/gateway/pixie/vizier.proto src/gateway/otlp/metrics.proto "$out/"
fi
