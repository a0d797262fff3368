/* placeholder replaced by the CLI */
#include <stdio.h>
int main(void) { puts("cove"); return 0; }
