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
