/work/main/build/selftests/test_progs.o: selftests/test_progs.c \
 selftests/test_progs.h /work/main/build/selftests/tests.inc
selftests/test_progs.h:
/work/main/build/selftests/tests.inc:
