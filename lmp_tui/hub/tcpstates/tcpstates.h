/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __TCPSTATES_H
#define __TCPSTATES_H

#define TASK_COMM_LEN 16

/* TCP states (include/net/tcp_states.h). Prefixed because vmlinux.h
 * already defines TCP_ESTABLISHED and friends as enumerators. Decoded as
 * "LMP_TCP_ESTABLISHED(1)". */
enum lmp_tcp_state {
	LMP_TCP_ESTABLISHED = 1,
	LMP_TCP_SYN_SENT = 2,
	LMP_TCP_SYN_RECV = 3,
	LMP_TCP_FIN_WAIT1 = 4,
	LMP_TCP_FIN_WAIT2 = 5,
	LMP_TCP_TIME_WAIT = 6,
	LMP_TCP_CLOSE = 7,
	LMP_TCP_CLOSE_WAIT = 8,
	LMP_TCP_LAST_ACK = 9,
	LMP_TCP_LISTEN = 10,
	LMP_TCP_CLOSING = 11,
	LMP_TCP_NEW_SYN_RECV = 12,
	LMP_TCP_BOUND_INACTIVE = 13,
};

/* One TCP state change. Layout (offset/size): skaddr 0/8, ts_us 8/8,
 * delta_us 16/8, pid 24/4, oldstate 28/4, newstate 32/4, family 36/2,
 * sport 38/2, dport 40/2, saddr 42/16, daddr 58/16, comm 74/16,
 * (6 bytes tail padding); sizeof == 96. */
struct event {
	unsigned long long skaddr;	///< kernel address of the socket (identifies it) @role id @unit hex
	unsigned long long ts_us;	///< time of the change, CLOCK_MONOTONIC @role timestamp @unit us
	unsigned long long delta_us;	///< time spent in oldstate (0 for the first change seen) @role duration @unit us
	int pid;			/* process id (tgid) running when the state changed (may be
					 * unrelated when the change happens in softirq context) */
	enum lmp_tcp_state oldstate;	/* previous state */
	enum lmp_tcp_state newstate;	/* new state */
	__u16 family;			/* address family: 2 = AF_INET, 10 = AF_INET6 */
	__u16 sport;			///< local port (host byte order) @role port
	__u16 dport;			///< remote port (host byte order) @role port
	__u8 saddr[16];			///< local address: 4 bytes for AF_INET, 16 for AF_INET6 (network order) @format ip
	__u8 daddr[16];			///< remote address, as saddr @format ip
	char comm[TASK_COMM_LEN];	/* command name of the current task */
};

#endif /* __TCPSTATES_H */
