#!/usr/bin/env python3
"""N sequential UDP A queries for NAME to SERVER:PORT; prints queries/s and median/p99 answer time.
Usage: dns-query.py SERVER PORT NAME N"""
import socket, struct, sys, time

server, port, name, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
qname = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.') if l) + b'\0'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
times = []
start = time.perf_counter()
for i in range(n):
    q = struct.pack('>HHHHHH', i & 0xffff, 0x0100, 1, 0, 0, 0) + qname + struct.pack('>HH', 1, 1)
    t = time.perf_counter()
    s.sendto(q, (server, port))
    while True:
        r, _ = s.recvfrom(4096)
        if struct.unpack('>H', r[:2])[0] == i & 0xffff:
            break
    times.append(time.perf_counter() - t)
total = time.perf_counter() - start
times.sort()
print(f'{n} queries in {total:.2f}s: {n / total:.0f}/s, median {times[n // 2] * 1e6:.0f} us, p99 {times[int(n * 0.99)] * 1e6:.0f} us')
