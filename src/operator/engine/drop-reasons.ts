// What a kernel drop reason (enum skb_drop_reason, read by name from BTF by
// the observer) means for a workload's owner, in one sentence each. Reasons
// not listed here are reported by name with a generic explanation.

const MEANINGS: Record<string, string> = {
  NETFILTER_DROP:
    "a netfilter (iptables/nftables) rule dropped them: a network policy or firewall rule is in the way",
  NO_SOCKET:
    "nothing was listening on the destination port: the service is down, restarting or misconfigured",
  SOCKET_RCVBUFF:
    "the socket's receive buffer was full: the application reads too slowly for its traffic",
  SOCKET_BACKLOG: "the socket backlog overflowed: the application accepts or reads too slowly",
  TCP_LISTEN_OVERFLOW: "the listen queue overflowed: raise the accept backlog or accept faster",
  PROTO_MEM: "the protocol's memory limit was hit: the node is short of socket memory",
  IP_NOPROTO: "no handler for the IP protocol",
  IP_INNOROUTES: "no route to the destination",
  IP_RPFILTER: "reverse-path filtering rejected them: asymmetric routing",
  OTHERHOST: "they were addressed to another host (normal on shared segments)",
  PKT_TOO_SMALL: "the packets were truncated or malformed",
  TCP_CSUM: "TCP checksum errors: a faulty link or offload",
  UDP_CSUM: "UDP checksum errors: a faulty link or offload",
  QDISC_DROP: "a queueing discipline dropped them: egress shaping or a full device queue",
  FULL_RING: "the device's receive ring was full: the CPU could not keep up with the NIC",
  NEIGH_FAILED: "neighbour (ARP/NDP) resolution failed",
  TC_INGRESS: "a tc ingress filter dropped them",
  XDP: "an XDP program dropped them",
  NOT_SPECIFIED: "the kernel did not record a specific reason",
};

export function dropReasonMeaning(reason: string): string {
  const key = reason.replace(/^SKB_DROP_REASON_/, "");
  return MEANINGS[key] ?? `the kernel dropped them with reason ${key}`;
}
