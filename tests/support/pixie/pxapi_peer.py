"""Contract peer: drives the substitute Vizier with Pixie's own Python client.

pxapi (PyPI) speaks Pixie's real generated protobufs. If it can run a script
against our substitute and read back the tables the test defined, the
substitute's stream follows Pixie's wire format (field numbers, oneofs, types,
meta_data before data, eos) and it reads Pixie's real request. It goes around
pxapi's cloud lookup (Client.connect_to_cluster asks Pixie Cloud for cluster
info, which the substitute does not serve) by building its Conn directly.

Usage: python pxapi_peer.py ADDRESS CA_FILE API_KEY CLUSTER_ID TABLES_JSON < script.pxl
TABLES_JSON: {"table": ["col", ...]} - tables and columns to read back.
Prints {"requestClient": ..., "tables": {"table": [[cells...]]}} or {"error": "..."}.
"""
import json
import sys

import grpc
from pxapi.client import Conn


def cell(v):
    """JSON-safe: booleans, floats and strings as they are; ints (int64, ns) and UUIDs as text."""
    if isinstance(v, (bool, float, str)):
        return v
    if isinstance(v, bytes):  # newer Pixie protos declare string columns as bytes (same wire)
        return v.decode('utf-8')
    return str(v)


def main():
    address, ca_file, api_key, cluster_id, tables_json = sys.argv[1:6]
    wanted = json.loads(tables_json)
    with open(ca_file, 'rb') as f:
        ca = f.read()

    def channel(url):
        return grpc.aio.secure_channel(url, grpc.ssl_channel_credentials(root_certificates=ca))

    conn = Conn(api_key, address, cluster_id, use_encryption=False, channel_fn=channel)
    script = conn.prepare_script(sys.stdin.read())
    out = {name: [] for name in wanted}
    for name, cols in wanted.items():
        script.add_callback(name, lambda row, name=name, cols=cols: out[name].append(
            [cell(row[c]) for c in cols]))
    try:
        script.run()
    except Exception as e:  # the peer reports what pxapi raised; the test judges it
        print(json.dumps({'error': f'{type(e).__name__}: {e}'}))
        return
    print(json.dumps({'tables': out}))


if __name__ == '__main__':
    main()
