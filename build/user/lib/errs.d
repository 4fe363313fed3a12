/work/main/build/user/lib/errs.o: user/lib/errs.c user/lib/errs.h
user/lib/errs.h:
