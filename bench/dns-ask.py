#!/usr/bin/env python3
"""One UDP query; prints 'rcode=N tc=0|1 answers=N' then one line per SRV, CNAME or A answer
('srv PORT TARGET', 'cname TARGET', 'a IP').
Usage: dns-ask.py SERVER NAME TYPE(A|SRV|TXT|PTR)"""
import socket, struct, sys

server, name, qtype = sys.argv[1], sys.argv[2], {'A': 1, 'PTR': 12, 'TXT': 16, 'SRV': 33}[sys.argv[3]]
qname = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.') if l) + b'\0'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(struct.pack('>HHHHHH', 77, 0x0100, 1, 0, 0, 0) + qname + struct.pack('>HH', qtype, 1), (server, 53))
r, _ = s.recvfrom(65535)
flags, qd, an = struct.unpack('>HHH', r[2:8])

def skip_name(at):
    while True:
        n = r[at]
        if n & 0xc0 == 0xc0:
            return at + 2
        if n == 0:
            return at + 1
        at += 1 + n

def read_name(at):
    labels = []
    while True:
        n = r[at]
        if n & 0xc0 == 0xc0:
            return '.'.join(labels + [read_name(((n & 0x3f) << 8) | r[at + 1])]).strip('.')
        if n == 0:
            return '.'.join(labels)
        labels.append(r[at + 1:at + 1 + n].decode())
        at += 1 + n

at = 12
for _ in range(qd):
    at = skip_name(at) + 4
print(f'rcode={flags & 0xf} tc={(flags >> 9) & 1} answers={an}')
for _ in range(an):
    at = skip_name(at)
    t, _c, _ttl, ln = struct.unpack('>HHIH', r[at:at + 10])
    if t == 33:
        port = struct.unpack('>H', r[at + 14:at + 16])[0]
        print(f'srv {port} {read_name(at + 16)}')
    elif t == 5:
        print(f'cname {read_name(at + 10)}')
    elif t == 1:
        print(f'a {socket.inet_ntoa(r[at + 10:at + 14])}')
    at += 10 + ln
