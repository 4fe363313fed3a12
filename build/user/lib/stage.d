/work/main/build/user/lib/stage.o: user/lib/stage.c user/lib/stage.h
user/lib/stage.h:
