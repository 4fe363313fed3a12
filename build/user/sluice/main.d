/work/main/build/user/sluice/main.o: user/sluice/main.c
