#include "tty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

const unsigned char berth_default_detach_keys[2] = {16, 17};

/* ctrl-@ is 0, ctrl-a..ctrl-z are 1..26, then [ \ ] ^ _ are 27..31. */
static int ctrl_code(const char *key)
{
	if (strncmp(key, "ctrl-", 5) != 0 || strlen(key) != 6)
		return -1;
	char ch = key[5];
	if (ch == '@')
		return 0;
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 1;
	const char *rest = "[\\]^_";
	const char *p = strchr(rest, ch);
	if (p && ch)
		return 27 + (int)(p - rest);
	return -1;
}

int berth_detach_keys_parse(const char *spec, unsigned char out[BERTH_DETACH_KEYS_MAX], struct berth_error *err)
{
	int n = 0;
	const char *p = spec;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char key[64];
		if (len >= sizeof(key))
			return berth_err(err, BERTH_E_INVALID, "Unknown character: '%.*s'", (int)len, p);
		memcpy(key, p, len);
		key[len] = '\0';
		int code;
		if (len == 1)
			code = (unsigned char)key[0];
		else if ((code = ctrl_code(key)) < 0)
			return berth_err(err, BERTH_E_INVALID, "Unknown character: '%s'", key);
		if (n >= BERTH_DETACH_KEYS_MAX)
			return berth_err(err, BERTH_E_INVALID, "too many detach keys");
		out[n++] = (unsigned char)code;
		if (!comma)
			break;
		p = comma + 1;
	}
	return n;
}

void berth_escape_init(struct berth_escape *e, const unsigned char *keys, size_t nkeys)
{
	memset(e, 0, sizeof(*e));
	if (nkeys > BERTH_DETACH_KEYS_MAX)
		nkeys = BERTH_DETACH_KEYS_MAX;
	if (nkeys)
		memcpy(e->keys, keys, nkeys);
	e->nkeys = nkeys;
}

int berth_escape_filter(struct berth_escape *e, const char *in, size_t len, struct berth_buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (!e->nkeys) {
			berth_buf_putc(out, (char)ch);
			continue;
		}
		if (ch == e->keys[e->pos]) {
			if (++e->pos == e->nkeys) {
				e->pos = 0;
				return 1;
			}
			continue;
		}
		/* mismatch: release what was held back, then retry this byte
		 * as a possible start of the sequence */
		if (e->pos) {
			berth_buf_append(out, e->keys, e->pos);
			e->pos = 0;
			if (ch == e->keys[0]) {
				if (e->nkeys == 1)
					return 1;
				e->pos = 1;
				continue;
			}
		}
		berth_buf_putc(out, (char)ch);
	}
	return 0;
}

/* The terminal state to restore: process-wide by nature (atexit, signals). */
static struct termios saved_state;
static int saved_fd = -1;
static bool atexit_done;

int berth_tty_make_raw(int fd, struct berth_error *err)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "unable to set IO streams as raw terminal");
	if (saved_fd < 0) {
		saved_state = t;
		saved_fd = fd;
	}
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_oflag &= ~(tcflag_t)OPOST;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (!atexit_done) {
		atexit(berth_tty_restore);
		atexit_done = true;
	}
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return berth_err_sys(err, BERTH_E_INTERNAL, errno, "unable to set IO streams as raw terminal");
	return 0;
}

void berth_tty_restore(void)
{
	if (saved_fd < 0)
		return;
	tcsetattr(saved_fd, TCSANOW, &saved_state);
	saved_fd = -1;
}

bool berth_tty_is_raw(void) { return saved_fd >= 0; }

int berth_tty_size(int fd, unsigned *height, unsigned *width)
{
	struct winsize ws;
	*height = *width = 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		return 0;
	*height = ws.ws_row;
	*width = ws.ws_col;
	return 0;
}
