import sys, time, socket
sys.path.insert(0, "/tmp/rev12")
from ws import *
s, head, rest = handshake("127.0.0.1:17770", "/splitdev")
print(head.splitlines()[0])
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pong = frame(0xA, b"")
msg = frame(0x1, b'{"a":1}')
s.sendall(pong[:1]); time.sleep(0.3)
s.sendall(pong[1:] + msg); time.sleep(0.3)
print(readframes(s, rest, 2))
