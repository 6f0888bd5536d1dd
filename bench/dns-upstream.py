#!/usr/bin/env python3
"""A tiny UDP DNS responder standing in for an upstream resolver in tests: names under SUFFIX
(default outside.test) get A IP (default 192.0.2.7) and other types an empty NOERROR; every other
name NXDOMAIN. Usage: dns-upstream.py ADDR PORT [IP [SUFFIX]]"""
import socket, struct, sys

addr, port = sys.argv[1], int(sys.argv[2])
answer_ip = sys.argv[3] if len(sys.argv) > 3 else '192.0.2.7'
suffix = (sys.argv[4] if len(sys.argv) > 4 else 'outside.test').lower()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
while True:
    msg, peer = s.recvfrom(4096)
    if len(msg) < 12:
        continue
    qid, flags = struct.unpack('>HH', msg[:4])
    at = 12
    while msg[at] != 0:
        at += 1 + msg[at]
    question = msg[12:at + 5]
    qtype = struct.unpack('>H', msg[at + 1:at + 3])[0]
    labels, i = [], 12
    while msg[i] != 0:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode('latin1').lower())
        i += 1 + msg[i]
    name = '.'.join(labels)
    known = name == suffix or name.endswith('.' + suffix)
    answers = b''
    if known and qtype == 1:
        answers = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + socket.inet_aton(answer_ip)
    head = struct.pack('>HHHHHH', qid, 0x8180 | (flags & 0x0100) | (0 if known else 3), 1, 1 if answers else 0, 0, 0)
    s.sendto(head + question + answers, peer)
