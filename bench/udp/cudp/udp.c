/*
 * udp.c: the C baseline for the udp-upper benchmark (bench/udp). A plain recvfrom/sendto
 * loop, ASCII toupper, a 2048-byte buffer like the seed's recvfrom(2048). It binds
 * 127.0.0.1 on the port given (0: any free port) and prints "listening on 127.0.0.1:PORT".
 * Build: gcc -O2 -o udp udp.c
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return 1;
    }
    socklen_t alen = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("getsockname");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    unsigned char buf[2048];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("recvfrom");
            return 1;
        }
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (unsigned char)toupper(buf[i]);
        if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) < 0 && errno != EINTR)
            perror("sendto");
    }
}
