#!/bin/sh
# Entrypoint of the test stand-in for the grafana service (tests/env/engine/standins.ts,
# ADR 0072). NOT Grafana (its image and binaries cannot be had here) and it serves
# nothing: it holds the grafana service's mounts, environment, user and network
# exactly as docker-compose.yaml gives them, so tests/compose-engine.test.ts can
# look at Grafana's view from inside (paths, variables, DNS, requests to the
# operator and the gateway).
echo "grafana-view: a stand-in for the grafana service, NOT Grafana; uid $(id -u), nothing listens on :3000"
trap 'exit 0' TERM INT
sleep infinity &
wait
