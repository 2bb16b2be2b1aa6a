/* Go templates (src/berth/format): parse the input as a template and execute
 * it over a fixed object (plain and in docker's header mode), then run it as
 * a `--format` through docker's list/table formatter with a Label method. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "format/table.h"
#include "format/template.h"
#include "fuzz_util.h"

static const char DATA[] =
	"{\"ID\":\"4e8a1b2c3d4f\",\"Names\":\"/web\",\"Image\":\"busybox\",\"Command\":\"\\\"sh -c\\\"\","
	"\"State\":{\"Status\":\"running\",\"Pid\":4242,\"Health\":null,\"Running\":true},"
	"\"Labels\":{\"a.b\":\"v\",\"com.example\":\"x<y>&z\",\"\":\"\"},\"Env\":[\"A=1\",\"B=\"],"
	"\"Size\":123456789,\"F\":-0.5,\"Big\":1e300,\"Z\":0,\"L\":[1,2,[3,{\"k\":null}]],\"E\":[],"
	"\"S\":\"a,b,\\u00e9\\u4e2d\",\"T\":true,\"Nil\":null,\"M\":{\"b\":{\"y\":1},\"a\":null}}";

static const struct berth_header_map HEADERS[] = {
	{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Names", "NAMES"}, {"Size", "SIZE"}, {NULL, NULL}};

static int label_fn(void *ctx, json_t *const *args, size_t nargs, json_t **out, struct berth_error *err)
{
	(void)ctx;
	if (nargs != 2 || !json_string_value(args[1]))
		return berth_err(err, BERTH_E_INVALID, "wrong number of args for Label: want 1 got %zu", nargs - 1);
	const char *v =
		json_string_value(json_object_get(json_object_get(args[0], "Labels"), json_string_value(args[1])));
	*out = json_string(v ? v : "");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *obj, *rows;
	if (!obj) {
		obj = json_loads(DATA, 0, NULL);
		FUZZ_ASSERT(obj);
		rows = json_pack("[O,O]", obj, obj);
	}
	char *src = fuzz_strndup(data, size);
	struct berth_error err = {0};
	struct berth_tmpl *t = berth_tmpl_parse(src, &err);
	if (t) {
		struct berth_buf out = {0};
		berth_tmpl_exec(t, obj, &out, &err);
		berth_buf_free(&out);
		berth_tmpl_exec_flags(t, obj, BERTH_TMPL_HEADER, &out, &err);
		berth_buf_free(&out);
		berth_tmpl_free(t);
	}
	struct berth_tmpl_func funcs[] = {{"Label", label_fn, NULL, true}};
	struct berth_buf out = {0};
	berth_format_list_funcs_buf(src, "table {{.ID}}\t{{.Names}}", HEADERS, rows, funcs, 1, &out, &err);
	berth_buf_free(&out);
	free(src);
	return 0;
}
