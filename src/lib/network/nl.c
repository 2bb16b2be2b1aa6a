/* Minimal rtnetlink client: requests built by hand, one ACK per request. */
#include "network/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct nlreq {
	char buf[2048];
	struct nlmsghdr *h;
};

static void req_init(struct nlreq *r, int type, int flags, const void *body, size_t blen)
{
	memset(r->buf, 0, sizeof(r->buf));
	r->h = (struct nlmsghdr *)r->buf;
	r->h->nlmsg_len = NLMSG_LENGTH(blen);
	r->h->nlmsg_type = (unsigned short)type;
	r->h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	memcpy(NLMSG_DATA(r->h), body, blen);
}

static struct rtattr *attr_add(struct nlreq *r, int type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->h->nlmsg_len);
	struct rtattr *a = (struct rtattr *)(r->buf + off);
	if (off + RTA_SPACE(len) > sizeof(r->buf))
		return NULL;
	a->rta_type = (unsigned short)type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = (unsigned)(off + RTA_SPACE(len));
	return a;
}

static void attr_end(struct nlreq *r, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)r->buf + r->h->nlmsg_len - (char *)nest);
}

static void attr_str(struct nlreq *r, int type, const char *s) { attr_add(r, type, s, strlen(s) + 1); }

static void attr_u32(struct nlreq *r, int type, uint32_t v) { attr_add(r, type, &v, sizeof(v)); }

/* Send and wait for the ACK: 0 or -errno. */
static int talk(int fd, struct nlreq *r)
{
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	r->h->nlmsg_seq = (unsigned)rand();
	if (sendto(fd, r->buf, r->h->nlmsg_len, 0, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	char buf[8192];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
		}
	}
}

struct ns_open {
	const char *path;
	int fd;
	int err;
};

static void *ns_open_thread(void *arg)
{
	struct ns_open *o = arg;
	int nsfd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		o->err = errno;
		return NULL;
	}
	/* a thread that changes its namespace is never reused: it exits here */
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		o->err = errno;
		close(nsfd);
		return NULL;
	}
	close(nsfd);
	o->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (o->fd < 0)
		o->err = errno;
	return NULL;
}

int berth_nl_open(const char *netns_path, struct berth_error *err)
{
	int fd = -1;
	if (!netns_path) {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fd < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, errno, "netlink socket");
	} else {
		struct ns_open o = {.path = netns_path, .fd = -1};
		pthread_t t;
		if (pthread_create(&t, NULL, ns_open_thread, &o) != 0)
			return berth_err(err, BERTH_E_INTERNAL, "netlink: cannot start a thread");
		pthread_join(t, NULL);
		if (o.fd < 0)
			return berth_err_sys(err, BERTH_E_INTERNAL, o.err, "netlink socket in %s", netns_path);
		fd = o.fd;
	}
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return berth_err_sys(err, BERTH_E_INTERNAL, e, "netlink bind");
	}
	return fd;
}

/* if_nametoindex in the socket's namespace: RTM_GETLINK by name. */
int berth_nl_link_index(int fd, const char *name)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlreq r;
	req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	r.h->nlmsg_flags = NLM_F_REQUEST;
	attr_str(&r, IFLA_IFNAME, name);
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	r.h->nlmsg_seq = (unsigned)rand();
	if (sendto(fd, r.buf, r.h->nlmsg_len, 0, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return 0;
	char buf[16384];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r.h->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return 0;
			if (h->nlmsg_type == RTM_NEWLINK)
				return ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
		}
	}
}

static int nl_fail(struct berth_error *err, int rc, const char *what, const char *name)
{
	return berth_err_sys(err, rc == -EEXIST ? BERTH_E_CONFLICT : BERTH_E_INTERNAL, -rc, "%s %s", what, name);
}

int berth_nl_bridge_add(int fd, const char *name, int mtu, struct berth_error *err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlreq r;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	attr_str(&r, IFLA_IFNAME, name);
	if (mtu > 0)
		attr_u32(&r, IFLA_MTU, (uint32_t)mtu);
	struct rtattr *li = attr_add(&r, IFLA_LINKINFO, NULL, 0);
	attr_str(&r, IFLA_INFO_KIND, "bridge");
	attr_end(&r, li);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "create bridge", name) : 0;
}

int berth_nl_link_del(int fd, const char *name, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, name);
	if (!idx)
		return 0;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = idx};
	struct nlreq r;
	req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	int rc = talk(fd, &r);
	return rc < 0 && rc != -ENODEV ? nl_fail(err, rc, "delete link", name) : 0;
}

int berth_nl_veth_add(int fd, const char *host, const char *peer, int netns_fd, const uint8_t *mac, int mtu,
		      struct berth_error *err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct nlreq r;
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	attr_str(&r, IFLA_IFNAME, host);
	if (mtu > 0)
		attr_u32(&r, IFLA_MTU, (uint32_t)mtu);
	struct rtattr *li = attr_add(&r, IFLA_LINKINFO, NULL, 0);
	attr_str(&r, IFLA_INFO_KIND, "veth");
	struct rtattr *data = attr_add(&r, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *pi = attr_add(&r, VETH_INFO_PEER, NULL, 0);
	struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
	size_t off = r.h->nlmsg_len;
	if (off + sizeof(pifi) > sizeof(r.buf))
		return berth_err(err, BERTH_E_INTERNAL, "netlink message too long");
	memcpy(r.buf + off, &pifi, sizeof(pifi));
	r.h->nlmsg_len += (unsigned)NLMSG_ALIGN(sizeof(pifi));
	attr_str(&r, IFLA_IFNAME, peer);
	if (netns_fd >= 0)
		attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (mac)
		attr_add(&r, IFLA_ADDRESS, mac, 6);
	if (mtu > 0)
		attr_u32(&r, IFLA_MTU, (uint32_t)mtu);
	attr_end(&r, pi);
	attr_end(&r, data);
	attr_end(&r, li);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "create veth", host) : 0;
}

int berth_nl_link_set(int fd, const char *name, bool up, int master_ifindex, int mtu, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, name);
	if (!idx)
		return berth_err(err, BERTH_E_NOT_FOUND, "link %s not found", name);
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_change = IFF_UP, .ifi_flags = up ? IFF_UP : 0};
	struct nlreq r;
	req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	if (master_ifindex > 0)
		attr_u32(&r, IFLA_MASTER, (uint32_t)master_ifindex);
	if (mtu > 0)
		attr_u32(&r, IFLA_MTU, (uint32_t)mtu);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "set link", name) : 0;
}

int berth_nl_addr_add(int fd, const char *name, struct in_addr addr, int prefix, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, name);
	if (!idx)
		return berth_err(err, BERTH_E_NOT_FOUND, "link %s not found", name);
	struct ifaddrmsg ifa = {.ifa_family = AF_INET,
				.ifa_prefixlen = (unsigned char)prefix,
				.ifa_scope = RT_SCOPE_UNIVERSE,
				.ifa_index = (unsigned)idx};
	struct nlreq r;
	req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
	attr_add(&r, IFA_LOCAL, &addr, 4);
	attr_add(&r, IFA_ADDRESS, &addr, 4);
	if (prefix < 31) {
		uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
		struct in_addr brd = {.s_addr = addr.s_addr | ~mask};
		attr_add(&r, IFA_BROADCAST, &brd, 4);
	}
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "add address to", name) : 0;
}

/* Run a dump request and call cb for each message of the answer. */
static int dump(int fd, int type, const void *body, size_t blen, void (*cb)(struct nlmsghdr *, void *), void *ctx)
{
	struct nlreq r;
	req_init(&r, type, NLM_F_DUMP, body, blen);
	r.h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	r.h->nlmsg_seq = (unsigned)rand();
	if (sendto(fd, r.buf, r.h->nlmsg_len, 0, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	char *buf = malloc(65536);
	if (!buf)
		return -1;
	int rc = 0;
	for (bool done = false; !done;) {
		ssize_t n = recv(fd, buf, 65536, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r.h->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			cb(h, ctx);
		}
	}
	free(buf);
	return rc;
}

struct addr_find {
	int idx;
	bool found;
	struct in_addr addr;
	int prefix;
};

static void addr_cb(struct nlmsghdr *h, void *ctx)
{
	struct addr_find *f = ctx;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (f->found || h->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET || (int)ifa->ifa_index != f->idx)
		return;
	int len = (int)IFA_PAYLOAD(h);
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS) {
			memcpy(&f->addr, RTA_DATA(a), 4);
			f->prefix = ifa->ifa_prefixlen;
			f->found = true;
			if (a->rta_type == IFA_LOCAL)
				return;
		}
	}
}

int berth_nl_addr_get(int fd, const char *name, struct in_addr *addr, int *prefix)
{
	struct addr_find f = {.idx = berth_nl_link_index(fd, name)};
	if (!f.idx)
		return -1;
	struct ifaddrmsg ifa = {.ifa_family = AF_INET};
	if (dump(fd, RTM_GETADDR, &ifa, sizeof(ifa), addr_cb, &f) < 0 || !f.found)
		return -1;
	*addr = f.addr;
	*prefix = f.prefix;
	return 0;
}

/* A default route via gw (4 or 16 bytes of family) on dev. */
static int route_default(int fd, const char *dev, int family, const void *gw, size_t len, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, dev);
	if (!idx)
		return berth_err(err, BERTH_E_NOT_FOUND, "link %s not found", dev);
	struct rtmsg rt = {.rtm_family = (unsigned char)family,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_BOOT,
			   .rtm_scope = RT_SCOPE_UNIVERSE,
			   .rtm_type = RTN_UNICAST};
	struct nlreq r;
	req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	attr_add(&r, RTA_GATEWAY, gw, len);
	attr_u32(&r, RTA_OIF, (uint32_t)idx);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, family == AF_INET6 ? "add IPv6 default route on" : "add default route on",
				dev) :
			0;
}

int berth_nl_route_default(int fd, const char *dev, struct in_addr gw, struct berth_error *err)
{
	return route_default(fd, dev, AF_INET, &gw, 4, err);
}

struct route_overlap {
	uint32_t net, mask;
	bool hit;
};

static void route_cb(struct nlmsghdr *h, void *ctx)
{
	struct route_overlap *o = ctx;
	struct rtmsg *rt = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_family != AF_INET || rt->rtm_dst_len == 0 ||
	    rt->rtm_table != RT_TABLE_MAIN)
		return;
	int len = (int)RTM_PAYLOAD(h);
	for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != RTA_DST)
			continue;
		uint32_t dst;
		memcpy(&dst, RTA_DATA(a), 4);
		dst = ntohl(dst);
		uint32_t m = rt->rtm_dst_len >= 32 ? ~0u : ~0u << (32 - rt->rtm_dst_len);
		uint32_t common = m & o->mask; /* the shorter of the two masks */
		if ((dst & common) == (o->net & common))
			o->hit = true;
	}
}

bool berth_nl_route_overlaps(int fd, struct in_addr net, int prefix)
{
	struct route_overlap o = {.net = ntohl(net.s_addr), .mask = prefix ? ~0u << (32 - prefix) : 0};
	struct rtmsg rt = {.rtm_family = AF_INET};
	dump(fd, RTM_GETROUTE, &rt, sizeof(rt), route_cb, &o);
	return o.hit;
}

int berth_nl_brport_isolated(int fd, const char *name, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, name);
	if (!idx)
		return berth_err(err, BERTH_E_NOT_FOUND, "link %s not found", name);
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = idx};
	struct nlreq r;
	req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	struct rtattr *pi = attr_add(&r, IFLA_PROTINFO | NLA_F_NESTED, NULL, 0);
	uint8_t one = 1;
	attr_add(&r, IFLA_BRPORT_ISOLATED, &one, 1);
	attr_end(&r, pi);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "isolate bridge port", name) : 0;
}

int berth_nl_addr6_add(int fd, const char *name, const struct in6_addr *addr, int prefix, struct berth_error *err)
{
	int idx = berth_nl_link_index(fd, name);
	if (!idx)
		return berth_err(err, BERTH_E_NOT_FOUND, "link %s not found", name);
	bool ll = addr->s6_addr[0] == 0xfe && (addr->s6_addr[1] & 0xc0) == 0x80;
	struct ifaddrmsg ifa = {.ifa_family = AF_INET6,
				.ifa_prefixlen = (unsigned char)prefix,
				.ifa_flags = IFA_F_NODAD,
				.ifa_scope = ll ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
				.ifa_index = (unsigned)idx};
	struct nlreq r;
	req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
	attr_add(&r, IFA_LOCAL, addr, 16);
	attr_add(&r, IFA_ADDRESS, addr, 16);
	attr_u32(&r, IFA_FLAGS, IFA_F_NODAD);
	int rc = talk(fd, &r);
	return rc < 0 ? nl_fail(err, rc, "add address to", name) : 0;
}

int berth_nl_route6_default(int fd, const char *dev, const struct in6_addr *gw, struct berth_error *err)
{
	return route_default(fd, dev, AF_INET6, gw, 16, err);
}
