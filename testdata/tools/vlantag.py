#!/usr/bin/env python3
"""Attach tiny hand-assembled eBPF programs (tcx hooks) that push VLAN tags on
egress and pop them on ingress of an interface.  stdlib only (ctypes + bpf(2)).

Why: the recording VM's kernel has no 8021q (vlan) link type, but it has
bpf_skb_vlan_push/pop.  Pushing the tag on egress of veth_cli and popping it
on ingress of veth_srv (and vice versa) makes the frames on the veth carry
real 802.1Q / 802.1ad tags, exactly as a vlan interface would: AF_PACKET taps
see them (egress tap runs after tcx egress, ingress tap before tcx ingress).

usage (run inside the namespace that owns IFACE, e.g. via `ip netns exec`):
  vlantag.py IFACE TPID:VID [TPID:VID ...]    # outermost tag LAST
e.g. vlantag.py veth_cli 0x8100:10
     vlantag.py veth_cli 0x8100:20 0x88a8:100  # QinQ: inner 20, outer 100
The programs stay attached until the interface disappears.
"""
import ctypes, os, socket, struct, sys

SYS_bpf = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_TCX_INGRESS, BPF_TCX_EGRESS = 46, 47
FUNC_skb_vlan_push, FUNC_skb_vlan_pop = 18, 19

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


MOV64_X, MOV64_K, CALL, EXIT = 0xBF, 0xB7, 0x85, 0x95


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_bpf, cmd, buf, 128)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def load(prog):
    code = b"".join(prog)
    code_buf = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_SCHED_CLS, len(prog),
                       ctypes.addressof(code_buf), ctypes.addressof(lic),
                       1, len(log), ctypes.addressof(log), 0, 0, b"tcs_vlan", 0, 0)
    try:
        return bpf(BPF_PROG_LOAD, attr)
    except OSError:
        sys.stderr.write(log.value.decode(errors="replace"))
        raise


def main():
    iface, tags = sys.argv[1], sys.argv[2:]
    if not tags:
        sys.exit(__doc__)
    push = [insn(MOV64_X, 6, 1)]  # r6 = skb
    for t in tags:
        tpid, vid = (int(x, 0) for x in t.split(":"))
        push += [insn(MOV64_X, 1, 6),
                 insn(MOV64_K, 2, imm=socket.htons(tpid)),  # __be16 proto
                 insn(MOV64_K, 3, imm=vid),                 # TCI (PCP 0)
                 insn(CALL, imm=FUNC_skb_vlan_push)]
    push += [insn(MOV64_K, 0, imm=0), insn(EXIT)]           # TCX_PASS
    pop = [insn(MOV64_X, 6, 1)]
    for _ in tags:
        pop += [insn(MOV64_X, 1, 6), insn(CALL, imm=FUNC_skb_vlan_pop)]
    pop += [insn(MOV64_K, 0, imm=0), insn(EXIT)]
    ifindex = socket.if_nametoindex(iface)
    for prog, hook in ((push, BPF_TCX_EGRESS), (pop, BPF_TCX_INGRESS)):
        fd = load(prog)
        bpf(BPF_PROG_ATTACH, struct.pack("<IIIII", ifindex, fd, hook, 0, 0))
        os.close(fd)


if __name__ == "__main__":
    main()
