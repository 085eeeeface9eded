/* build.c placeholder */ typedef int kb_gen_unused;
