/* server_util.h: what the core server's unit tests (test_server.c, test_server_tls.c) share. */
#ifndef SL_TEST_SERVER_UTIL_H
#define SL_TEST_SERVER_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A non-blocking TCP connection to 127.0.0.1:port (asserts it connects). */
static inline int test_connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

#endif
