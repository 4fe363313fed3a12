/work/main/build/bpf/entry.tmp.bpf.o: bpf/entry.bpf.c \
  /work/main/bpf/include/chain_maps.h /work/main/bpf/include/ctx.h \
  /work/main/bpf/shared/meta.h /work/main/bpf/shared/drop_reasons.h \
  /work/main/bpf/include/parse/packet.h

/work/main/bpf/include/chain_maps.h:

/work/main/bpf/include/ctx.h:

/work/main/bpf/shared/meta.h:

/work/main/bpf/shared/drop_reasons.h:

/work/main/bpf/include/parse/packet.h:
