// Stand-in for the pause image (the sandbox of runc's pods in tests/critest): waits for a signal
// and, as PID 1 of a shared PID namespace, reaps the children it inherits. Its process name is
// "pause", as the real one's (critest greps a pod's processes by name). Built statically by
// tests/critest/images.sh.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void Quit(int sig) { _exit(sig == SIGTERM || sig == SIGINT ? 0 : 2); }
static void Reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  signal(SIGTERM, Quit);
  signal(SIGINT, Quit);
  signal(SIGCHLD, Reap);
  for (;;) pause();
}
