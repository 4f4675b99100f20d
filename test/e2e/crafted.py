#!/usr/bin/env python3
"""Hostile-packet probes for the lab, with Python's standard library only.

  crafted.py listen FAMILY PROTO MARKER TIMEOUT_MS
      Opens a raw socket for PROTO (tcp, udp or icmp), prints "ready", waits for a
      line on stdin (the packet was sent), then prints "arrived" as soon as a packet
      carrying MARKER has reached this host's stack, or "blocked" when TIMEOUT_MS pass. A raw socket sees a packet only after the
      local netfilter INPUT hook accepted it, so in the gateway it reports the
      gateway's verdict; on a lab host (no firewall) it reports whether the gateway
      forwarded it.

  crafted.py send FAMILY SRC DST PROTO MARKER [key=value ...]
      Sends one hand-built packet with any source address: tcp (flags=SFRPAU or
      'none', sport=, dport=, ack=), udp (sport=, dport=), icmp (type=, code=; an
      error type carries an inner header from DST to SRC, as a router would send).
"""
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(family: int, src: str, dst: str, proto: int, length: int) -> bytes:
    if family == 4:
        return socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + struct.pack("!BBH", 0, proto, length)
    return socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) + struct.pack("!IxxxB", length, proto)


def ip_header(family: int, src: str, dst: str, proto: int, payload_length: int) -> bytes:
    if family == 4:
        # Total length and checksum are filled in by the kernel for IP_HDRINCL sockets.
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_length, 0x4747, 0, 64, proto, 0,
                           socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst))
    return struct.pack("!IHBB16s16s", 6 << 28, payload_length, proto, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))


FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}
PROTO = {"tcp": 6, "udp": 17}


def tcp_segment(family, src, dst, opts, marker: bytes) -> bytes:
    flags = 0 if opts.get("flags", "S") == "none" else sum(FLAG_BITS[c] for c in opts.get("flags", "S"))
    sport, dport = int(opts.get("sport", "40000")), int(opts.get("dport", "80"))
    ack = int(opts.get("ack", "0"))
    head = struct.pack("!HHIIBBHHH", sport, dport, 1000, ack, 5 << 4, flags, 8192, 0, 0)
    total = head + marker
    csum = checksum(pseudo_header(family, src, dst, 6, len(total)) + total)
    return head[:16] + struct.pack("!H", csum) + head[18:] + marker


def udp_datagram(family, src, dst, opts, marker: bytes) -> bytes:
    sport, dport = int(opts.get("sport", "40000")), int(opts.get("dport", "53"))
    length = 8 + len(marker)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo_header(family, src, dst, 17, length) + head + marker) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + marker


def icmp_message(family, src, dst, opts, marker: bytes) -> bytes:
    proto = 1 if family == 4 else 58
    mtype, code = int(opts.get("type", "8" if family == 4 else "128")), int(opts.get("code", "0"))
    error = mtype < 128 if family == 6 else mtype in (3, 4, 5, 11, 12)
    if error:
        # An error quotes the packet it refers to: one from DST back to SRC (UDP, marker inside).
        inner_udp = udp_datagram(family, dst, src, {"sport": "33000", "dport": "33434"}, marker)
        inner = ip_header(family, dst, src, 17, len(inner_udp)) + inner_udp
        if family == 4:
            inner = inner[:2] + struct.pack("!H", len(inner)) + inner[4:10] + struct.pack("!H", checksum(inner[:20])) + inner[12:]
        rest = struct.pack("!HH", 0, 1280) if (family == 4 and mtype == 3 and code == 4) else (struct.pack("!I", 1280) if family == 6 and mtype == 2 else b"\0\0\0\0")
        body = rest + inner
    else:
        body = struct.pack("!HH", 0x4747, 1) + marker
    head = struct.pack("!BBH", mtype, code, 0)
    message = head + body
    if family == 4:
        csum = checksum(message)
    else:
        csum = checksum(pseudo_header(family, src, dst, 58, len(message)) + message)
    return struct.pack("!BBH", mtype, code, csum) + body, proto


def send(argv):
    family, src, dst, proto, marker = int(argv[0]), argv[1], argv[2], argv[3], argv[4].encode()
    opts = dict(a.split("=", 1) for a in argv[5:])
    if proto == "tcp":
        payload, number = tcp_segment(family, src, dst, opts, marker), 6
    elif proto == "udp":
        payload, number = udp_datagram(family, src, dst, opts, marker), 17
    else:
        payload, number = icmp_message(family, src, dst, opts, marker)
    packet = ip_header(family, src, dst, number, len(payload)) + payload
    if family == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.sendto(packet, (dst, 0))
    else:
        # An IPPROTO_RAW socket of AF_INET6 takes the whole packet, header included (IPV6_HDRINCL).
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(packet, (dst, 0))


def listen(argv):
    family, proto, marker, timeout = int(argv[0]), argv[1], argv[2].encode(), int(argv[3]) / 1000
    number = PROTO.get(proto) or (socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6)
    s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_RAW, number)
    print("ready", flush=True)
    # The wait starts once the sender is done (a line on stdin); earlier packets wait in the socket.
    sys.stdin.readline()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("blocked", flush=True)
            return
        s.settimeout(left)
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        if marker in data:
            print("arrived", flush=True)
            return


if __name__ == "__main__":
    {"send": send, "listen": listen}[sys.argv[1]](sys.argv[2:])
