// Stand-in for critest's "nonewprivs" image: installed setuid root, prints the effective uid it
// runs with ("Effective uid: 0" when the setuid bit took effect, the caller's uid under
// no_new_privs). Built statically by tests/critest/images.sh.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
