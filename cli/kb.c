#include <stdio.h>
int main(void) { puts("kb"); return 0; }
