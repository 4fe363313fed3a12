/work/main/build/selftests/prog_tests/harness.o: \
 selftests/prog_tests/harness.c /work/main/selftests/test_progs.h
/work/main/selftests/test_progs.h:
