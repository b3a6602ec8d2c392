// SPDX-License-Identifier: MIT
/*
 * The NIC side of hardware timestamps: enable RX stamping on an interface, find its PHC and
 * sample it against CLOCK_REALTIME. Everything here can fail on hosts without a capable NIC;
 * the caller logs it once and keeps software stamps.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/net_tstamp.h>
#include <linux/ptp_clock.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hwts_phc.h"

#define HWTS_SAMPLES_PER_READ 9

static int ifreq_ioctl(const char *ifname, unsigned long req, void *data)
{
	struct ifreq ifr;
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	if (ioctl(fd, req, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Asks the driver to stamp received NTP packets; NTP_ALL first, ALL where that is all it has. */
static int enable_rx_stamps(const char *ifname)
{
	static const int filters[] = {HWTSTAMP_FILTER_NTP_ALL, HWTSTAMP_FILTER_ALL};
	int err = -EOPNOTSUPP;

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		struct hwtstamp_config cfg = {.tx_type = HWTSTAMP_TX_OFF, .rx_filter = filters[i]};

		err = ifreq_ioctl(ifname, SIOCSHWTSTAMP, &cfg);
		if (!err)
			return 0;
	}
	return err;
}

static int tsinfo_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[ETHTOOL_A_TSINFO_MAX + 1];
	int *phc = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, ETHTOOL_A_TSINFO_MAX, NULL) < 0)
		return NL_SKIP;
	if (tb[ETHTOOL_A_TSINFO_PHC_INDEX])
		*phc = (int)nla_get_u32(tb[ETHTOOL_A_TSINFO_PHC_INDEX]);
	return NL_OK;
}

/* PHC index through ethtool netlink (ETHTOOL_MSG_TSINFO_GET). */
static int phc_index_netlink(const char *ifname)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	struct nlattr *hdr;
	int family, phc = -1, err = -ENODEV;

	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk) < 0 || (family = genl_ctrl_resolve(sk, ETHTOOL_GENL_NAME)) < 0)
		goto out;
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
	                         ETHTOOL_MSG_TSINFO_GET, ETHTOOL_GENL_VERSION))
		goto out;
	hdr = nla_nest_start(msg, ETHTOOL_A_TSINFO_HEADER);
	if (!hdr || nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0)
		goto out;
	nla_nest_end(msg, hdr);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, tsinfo_cb, &phc);
	if (nl_send_auto(sk, msg) < 0 || nl_recvmsgs_default(sk) < 0)
		goto out;
	err = phc >= 0 ? phc : -EOPNOTSUPP;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return err;
}

/* PHC index through the older SIOCETHTOOL ETHTOOL_GET_TS_INFO. */
static int phc_index_ioctl(const char *ifname)
{
	struct ethtool_ts_info info = {.cmd = ETHTOOL_GET_TS_INFO};
	int err = ifreq_ioctl(ifname, SIOCETHTOOL, &info);

	if (err)
		return err;
	if (info.phc_index < 0 || !(info.so_timestamping & SOF_TIMESTAMPING_RAW_HARDWARE))
		return -EOPNOTSUPP;
	return info.phc_index;
}

static int64_t ptp_ns(const struct ptp_clock_time *t)
{
	return t->sec * 1000000000LL + t->nsec;
}

/* One PTP_SYS_OFFSET_EXTENDED read fed into a clock's estimate. */
static int sample_clock(struct hwts_clock *c)
{
	struct ptp_sys_offset_extended req = {.n_samples = HWTS_SAMPLES_PER_READ};
	struct hwts_sample s[HWTS_SAMPLES_PER_READ];
	struct hwts_phc_est e;
	int err;

	if (ioctl(c->phc_fd, PTP_SYS_OFFSET_EXTENDED, &req) < 0)
		return -errno;
	for (unsigned i = 0; i < req.n_samples && i < HWTS_SAMPLES_PER_READ; i++)
		s[i] = (struct hwts_sample){ptp_ns(&req.ts[i][0]), ptp_ns(&req.ts[i][1]),
		                            ptp_ns(&req.ts[i][2])};
	e = c->est; /* only this thread writes, so reading without the seqlock is fine */
	err = hwts_phc_update(&e, s, (int)req.n_samples);
	if (!err)
		hwts_clock_store(c, &e);
	return err;
}

int hwts_set_add(struct hwts_set *set, const char *ifname)
{
	struct hwts_clock *c;
	char dev[32];
	int ifindex = (int)if_nametoindex(ifname), phc, err;

	if (!ifindex)
		return -ENODEV;
	if (set->n >= HWTS_MAX_IFACES)
		return -ENOSPC;
	phc = phc_index_netlink(ifname);
	if (phc < 0)
		phc = phc_index_ioctl(ifname);
	if (phc < 0)
		return phc;
	err = enable_rx_stamps(ifname);
	if (err)
		return err;
	c = &set->clk[set->n];
	memset(c, 0, sizeof(*c));
	snprintf(dev, sizeof(dev), "/dev/ptp%d", phc);
	c->phc_fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (c->phc_fd < 0)
		return -errno;
	c->ifindex = ifindex;
	hwts_phc_init(&c->est);
	err = sample_clock(c);
	if (err) {
		close(c->phc_fd);
		return err;
	}
	set->n++;
	return 0;
}

void hwts_set_sample(struct hwts_set *set)
{
	for (int i = 0; i < set->n; i++)
		sample_clock(&set->clk[i]); /* a failed read keeps the previous estimate */
}

void hwts_set_close(struct hwts_set *set)
{
	for (int i = 0; i < set->n; i++)
		close(set->clk[i].phc_fd);
	set->n = 0;
}
