// Stand-in for the web-server images critest pulls (nginx, httpd, hostnet-nginx): listens on
// the TCP port given as the only argument (default 80) on every address, answers every request
// with "200 OK" and a short page, one connection at a time. Like the real servers it says what
// it is on stderr ("<name>: listening on port N") and writes its pid to /var/run/<name>.pid,
// where <name> is the program's file name (critest looks for nginx's pid file and for "httpd" in
// the httpd container's log). Built statically by tests/critest/images.sh.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char kPage[] = "<html><body>reaper critest stand-in web server</body></html>\n";

int main(int argc, char** argv) {
  const char* name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  int port = argc > 1 ? atoi(argv[1]) : 80;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "%s: bad port %s\n", name, argv[1]);
    return 2;
  }
  int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int off = 0, on = 1;
  if (s < 0) {
    fprintf(stderr, "%s: socket: %s\n", name, strerror(errno));
    return 1;
  }
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);  // IPv4 too
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((unsigned short)port);
  a.sin6_addr = in6addr_any;
  if (bind(s, (struct sockaddr*)&a, sizeof a) < 0 || listen(s, 64) < 0) {
    fprintf(stderr, "%s: cannot listen on port %d: %s\n", name, port, strerror(errno));
    return 1;
  }
  char pidfile[256];
  snprintf(pidfile, sizeof pidfile, "/var/run/%s.pid", name);
  FILE* f = fopen(pidfile, "w");
  if (f) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  fprintf(stderr, "%s: listening on port %d\n", name, port);
  char head[256], buf[4096];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   sizeof kPage - 1);
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fprintf(stderr, "%s: accept: %s\n", name, strerror(errno));
      return 1;
    }
    struct timeval tv = {5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)!read(c, buf, sizeof buf);  // the request line and headers: any request gets the page
    if (write(c, head, (size_t)n) == n) (void)!write(c, kPage, sizeof kPage - 1);
    close(c);
  }
}
