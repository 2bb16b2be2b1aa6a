/* Go text/template engine, docker template functions, tabwriter and docker
 * --format handling (src/berth/format). Expected strings are what Go /
 * docker print. */
#include <stdlib.h>
#include <string.h>

#include "../../src/berth/format/gofmt.h"
#include "../../src/berth/format/table.h"
#include "../../src/berth/format/template.h"
#include "tap.h"

static const char *DATA =
	"{\"ID\":\"4e8a1b2c3d4f\",\"Name\":\"web\",\"Names\":\"/web\","
	"\"State\":{\"Status\":\"running\",\"Pid\":4242,\"Health\":null,\"Running\":true},"
	"\"Config\":{\"Labels\":{\"a.b\":\"v\",\"com.example\":\"x<y>&z\"},\"Env\":[\"A=1\",\"B=2\"]},"
	"\"RepoTags\":[\"busybox:latest\",\"busybox:1.36\"],"
	"\"Args\":[\"-c\",\"sleep 1\",\"x\"],"
	"\"Labels\":{\"b\":\"2\",\"a\":\"1\",\"c\":\"3\"},"
	"\"A\":\"x\",\"B\":5,\"F\":0.5,\"Big\":123456789.0,\"Sci\":1000000.0,\"Small\":0.00001,\"Z\":0,"
	"\"L\":[1,2,3,4],\"E\":[],\"S\":\"a,b,c\",\"T\":true,\"Nil\":null,"
	"\"M\":{\"b\":{\"y\":1,\"x\":[1,\"a\"]},\"a\":null}}";

/* TAP descriptions must stay on one line. */
static const char *desc(const char *s)
{
	static char d[200];
	size_t i = 0;
	for (; s[i] && i < sizeof(d) - 1; i++)
		d[i] = s[i] == '\n' ? '~' : s[i] == '\t' ? '>' : s[i];
	d[i] = '\0';
	return d;
}

static void check(struct tap *t, const char *tmpl, const char *want)
{
	json_t *data = json_loads(DATA, 0, NULL);
	struct berth_error err = {0};
	char *got = berth_tmpl_render(tmpl, data, &err);
	TAP_STREQ(t, got ? got : err.msg, want, "%s", desc(tmpl));
	free(got);
	json_decref(data);
}

static void check_data(struct tap *t, const char *tmpl, const char *json, const char *want)
{
	json_t *data = json_loads(json, JSON_DECODE_ANY, NULL);
	struct berth_error err = {0};
	char *got = berth_tmpl_render(tmpl, data, &err);
	TAP_STREQ(t, got ? got : err.msg, want, "%s on %s", desc(tmpl), desc(json));
	free(got);
	json_decref(data);
}

static void check_err(struct tap *t, const char *tmpl, const char *want)
{
	json_t *data = json_loads(DATA, 0, NULL);
	struct berth_error err = {0};
	char *got = berth_tmpl_render(tmpl, data, &err);
	TAP_STREQ(t, got ? "(no error)" : err.msg, want, "error: %s", desc(tmpl));
	TAP_OK(t, got || err.kind == BERTH_E_INVALID, "error kind INVALID: %s", desc(tmpl));
	free(got);
	json_decref(data);
}

static void test_basics(struct tap *t)
{
	check(t, "{{.ID}}", "4e8a1b2c3d4f");
	check(t, "id={{.ID}}!", "id=4e8a1b2c3d4f!");
	check(t, "{{.State.Status}}", "running");
	check(t, "{{.State.Pid}}", "4242");
	check(t, "{{.State.Running}}", "true");
	check(t, "{{.Missing}}", "<no value>");
	check(t, "{{.Missing.Deeper}}", "<no value>");
	check(t, "{{.Nil}}", "<nil>");
	check(t, "{{.State.Health}}", "<nil>");
	check(t, "{{.RepoTags}}", "[busybox:latest busybox:1.36]");
	check(t, "{{.Labels}}", "map[a:1 b:2 c:3]");
	check(t, "{{.M}}", "map[a:<nil> b:map[x:[1 a] y:1]]");
	check(t, "{{.E}}", "[]");
	check(t, "{{.F}} {{.Big}} {{.Sci}} {{.Small}} {{.Z}}", "0.5 1.23456789e+08 1e+06 1e-05 0");
	check_data(t, "{{.}}", "\"plain\"", "plain");
	check_data(t, "{{.}}", "[1.5,2,true,null,\"s\"]", "[1.5 2 true <nil> s]");
	check_data(t, "{{.}}", "100000.0", "100000");
	check_data(t, "{{.}}", "0.0001", "0.0001");
	check_data(t, "{{.}}", "-2.5e-7", "-2.5e-07");
	check_data(t, "{{.}}", "1e21", "1e+21");
	check_data(t, "{{.}}", "0.1", "0.1");
	check_data(t, "{{.}}", "null", "<nil>");
	check(t, "{{\"str\"}} {{`raw\\n`}} {{1}} {{-2}} {{1.5}} {{1e3}} {{true}} {{'a'}} {{0x1F}} {{010}}",
	      "str raw\\n 1 -2 1.5 1000 true 97 31 8");
	check(t, "{{\"tab\\tq\\\"\\u00e9\\x41\"}}",
	      "tab\tq\"\xc3\xa9"
	      "A");
	check(t, "a{{/* comment */}}b", "ab");
	check(t, "a  {{- /* comment */ -}}  b", "ab");
	check(t, "x  {{- .A -}}\n  y", "xxy");
	check(t, "x {{- .A}} y", "xx y");
	check(t, "{{.A   -}} \n y", "xy");
	check(t, "{{-3}}", "-3");
	check(t, "{{ .A }}", "x");
	check(t, "{{.A\n}}", "x");
}

static void test_docker_templates(struct tap *t)
{
	/* the templates from the docker docs / common usage */
	check(t, "{{json .State}}", "{\"Status\":\"running\",\"Pid\":4242,\"Health\":null,\"Running\":true}");
	check(t, "{{json .Config.Labels}}", "{\"a.b\":\"v\",\"com.example\":\"x<y>&z\"}");
	check(t, "{{json .Missing}}", "null");
	check(t, "{{json .F}} {{json .Big}} {{json .Small}} {{json .T}} {{json .E}}", "0.5 123456789 0.00001 true []");
	check_data(t, "{{json .}}", "[1e21, 1e-7, 1e20, \"\\u2028\\u0001\\n\\\"\\\\\"]",
		   "[1e+21,1e-7,100000000000000000000,\"\\u2028\\u0001\\n\\\"\\\\\"]");
	check(t, "{{range .RepoTags}}{{.}} {{end}}", "busybox:latest busybox:1.36 ");
	check(t, "{{index .Config.Labels \"a.b\"}}", "v");
	check(t, "{{index .Config.Labels \"nope\"}}", "");
	check(t, "{{join .Args \",\"}}", "-c,sleep 1,x");
	check(t, "{{join .Config.Env \" \"}}", "A=1 B=2");
	check(t, "{{join .Missing \",\"}}", "");
	check(t, "{{if eq .State.Status \"running\"}}up{{else}}down{{end}}", "up");
	check(t, "{{if eq .State.Status \"exited\"}}up{{else}}down{{end}}", "down");
	check(t, "{{upper .Name}} {{lower \"MiXeD\"}} {{title \"hello wide-world it's\"}}",
	      "WEB mixed Hello Wide-World It'S");
	check(t, "{{upper \"\xc3\xa9t\xc3\xa9\"}}", "\xc3\x89T\xc3\x89");
	check(t, "{{range $k,$v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;c=3;");
	check(t, "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}", "a=1;b=2;c=3;");
	check(t, "{{printf \"%s:%d\" .A .B}}", "x:5");
	check(t, "{{.Name | upper}}", "WEB");
	check(t, "{{.Name | printf \"%s-%s\" \"a\"}}", "a-web");
	check(t, "{{split .S \",\"}}", "[a b c]");
	check(t, "{{len (split .S \",\")}}", "3");
	check(t, "{{index (split .S \",\") 1}}", "b");
	check(t, "{{(index .RepoTags 0)}}", "busybox:latest");
	check(t, "{{truncate .ID 4}} {{truncate \"ab\" 3}} {{truncate \"abc\" 3}} {{truncate \"abc\" 0}}.",
	      "4e8a ab abc .");
	check(t, "[{{pad .A 2 3}}] [{{pad \"\" 2 3}}]", "[  x   ] []");
	check(t, "{{range .Config.Env}}{{println .}}{{end}}", "A=1\nB=2\n");
	check(t, "{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/4242");
	check(t, "{{with .State.Health}}{{.Status}}{{else}}no health{{end}}", "no health");
	check(t, "{{with $x := .State}}{{$x.Status}}{{end}}", "running");
	check(t, "{{.State.Health.Status}}",
	      "template: :1:8: executing \"\" at <.State.Health.Status>: nil pointer evaluating interface {}.Status");
	check(t, "{{index .Config.Labels \"com.example\"}}", "x<y>&z");
	check(t, "{{json .Config.Labels}}", "{\"a.b\":\"v\",\"com.example\":\"x<y>&z\"}");
}

static void test_control(struct tap *t)
{
	check(t,
	      "{{if .T}}a{{end}}{{if .Z}}b{{end}}{{if .E}}c{{end}}{{if .Missing}}d{{end}}{{if .Nil}}e{{end}}{{if .L}}f{{end}}",
	      "af");
	check(t, "{{if eq .B 1}}one{{else if eq .B 5}}five{{else}}many{{end}}", "five");
	check(t, "{{if eq .B 1}}one{{else if eq .B 2}}two{{else}}many{{end}}", "many");
	check(t, "{{with .Missing}}x{{else with .A}}{{.}}{{end}}", "x");
	check(t, "{{range .E}}x{{else}}empty{{end}}", "empty");
	check(t, "{{range .Missing}}x{{else}}none{{end}}", "none");
	check(t, "{{range .Nil}}x{{else}}nil{{end}}", "nil");
	check(t, "{{range $i, $e := .RepoTags}}{{$i}}:{{$e}} {{end}}", "0:busybox:latest 1:busybox:1.36 ");
	check(t, "{{range $e := .L}}{{$e}}{{end}}", "1234");
	check(t, "{{range .L}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}", "13");
	check(t, "{{range .L}}{{$.A}}{{end}}", "xxxx");
	check(t, "{{range .M}}{{.}};{{end}}", "<nil>;map[x:[1 a] y:1];");
	check(t, "{{$x := .A}}{{$x}}{{$x = \"y\"}}{{$x}}", "xy");
	check(t, "{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2");
	check(t, "{{$}}",
	      "map[A:x Args:[-c sleep 1 x] B:5 Big:1.23456789e+08 Config:map[Env:[A=1 B=2] "
	      "Labels:map[a.b:v com.example:x<y>&z]] E:[] F:0.5 ID:4e8a1b2c3d4f L:[1 2 3 4] "
	      "Labels:map[a:1 b:2 c:3] M:map[a:<nil> b:map[x:[1 a] y:1]] Name:web Names:/web Nil:<nil> "
	      "RepoTags:[busybox:latest busybox:1.36] S:a,b,c Sci:1e+06 Small:1e-05 State:map[Health:<nil> "
	      "Pid:4242 Running:true Status:running] T:true Z:0]");
	check(t, "{{define \"T\"}}<{{.}}>{{end}}{{template \"T\" .A}}{{template \"T\" .B}}", "<x><5>");
	check(t, "{{block \"B\" .Name}}[{{.}}]{{end}}", "[web]");
	check(t, "{{define \"R\"}}{{if .}}{{len .}}{{end}}{{end}}{{template \"R\" .L}}", "4");
}

static void test_funcs(struct tap *t)
{
	check(t,
	      "{{printf \"%-5s|%5s|%05d|%.2f|%v|%q|%t|%x|%X|%o|%b|%c|%U\" \"a\" \"b\" 42 3.14159 .L \"q\" true 255 255 8 5 65 65}}",
	      "a    |    b|00042|3.14|[1 2 3 4]|\"q\"|true|ff|FF|10|101|A|U+0041");
	check(t, "{{printf \"%d|%+d|% d|%x|%8.3f|%-8.2e|%g|%g|%v\" -7 7 7 -255 2.5 1234.5 0.000001 1e6 .Labels}}",
	      "-7|+7| 7|-ff|   2.500|1.23e+03|1e-06|1e+06|map[a:1 b:2 c:3]");
	check(t, "{{printf \"%5.1s|%.2s|%s\" \"abc\" \"\xc3\xa9\xc3\xa9\xc3\xa9\" .RepoTags}}",
	      "    a|\xc3\xa9\xc3\xa9|[busybox:latest busybox:1.36]");
	check(t,
	      "{{printf \"%d\" \"x\"}}|{{printf \"%s\" 5}}|{{printf \"%s\"}}|{{printf \"a\" 1 \"b\"}}|{{printf \"%d %\" 1}}",
	      "%!d(string=x)|%!s(int=5)|%!s(MISSING)|a%!(EXTRA int=1, string=b)|1 %!(NOVERB)");
	check(t, "{{printf \"%v %d %s\" .Nil .Nil .Missing}}", "<nil> %!d(<nil>) %!s(<nil>)");
	check(t, "{{printf \"%q %v %T %T\" .Config.Env .T .F .M}}",
	      "[\"A=1\" \"B=2\"] true float64 map[string]interface {}");
	check(t, "{{printf \"%6.2f%%\" 12.5}}", " 12.50%");
	check(t, "{{printf \"%*d|%-*d|\" 4 1 3 2}}", "   1|2  |");
	check(t, "{{print \"a\" 1 2 \"b\" .T .B}}", "a1 2btrue 5");
	check(t, "{{print .Missing}} {{html .Missing}}", "<nil> &lt;no value&gt;");
	check(t, "{{println \"a\" 1}}", "a 1\n");
	check(t, "{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}} {{not true}} {{not .E}}",
	      "0 2 x  false true");
	check(t, "{{and .Missing .Boom}}|{{or .A .Missing.X}}", "<no value>|x");
	check(t, "{{eq 1 1}} {{eq \"a\" \"b\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 1}} {{ge \"b\" \"a\"}}",
	      "true true true true true true true");
	check(t,
	      "{{eq .B 5}} {{eq .F 0.5}} {{eq 1 1.0}} {{eq .T true}} {{eq .Missing .Nil}} {{eq .Missing 1}} {{lt .B 6}}",
	      "true true true true true false true");
	check(t, "{{len .L}} {{len .Labels}} {{len \"h\xc3\xa9\"}} {{len .E}}", "4 3 3 0");
	check(t, "{{index .L 1}} {{index .M \"b\" \"x\" 1}} {{index \"abc\" 1}} {{index .RepoTags 1}}",
	      "2 a 98 busybox:1.36");
	check(t, "{{slice \"hello\" 1 3}} {{slice .L 1}} {{slice .L 1 2}} {{slice \"abc\"}}", "el [2 3 4] [2] abc");
	check(t, "{{html \"<a href='x'>&\\\"\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;");
	check(t, "{{js \"a'b\\\"<c>\"}}", "a\\'b\\\"\\u003Cc\\u003E");
	check(t, "{{urlquery \"a b&c=d/é\"}}", "a+b%26c%3Dd%2F%C3%A9");
	check(t, "{{len .A | printf \"%03d\"}}", "001");
	check(t, "{{\"x\" | printf \"%s%s\" \"y\"}}", "yx");
	check(t, "{{(.State).Status}} {{(index .M \"b\").y}}", "running 1");
}

static void test_exec_errors(struct tap *t)
{
	check_err(t, "{{.Name.X}}",
		  "template: :1:7: executing \"\" at <.Name.X>: can't evaluate field X in type string");
	check_err(t, "{{.A \"x\"}}", "template: :1:2: executing \"\" at <.A>: A is not a method but has arguments");
	check_err(t, "{{join .Args}}",
		  "template: :1:2: executing \"\" at <join>: wrong number of args for join: want 2 got 1");
	check_err(t, "{{index .L 5}}",
		  "template: :1:2: executing \"\" at <index .L 5>: error calling index: index out of range: 5");
	check_err(t, "{{index .L 4}}",
		  "template: :1:2: executing \"\" at <index .L 4>: error calling index: index out of range: 4");
	check_err(t, "{{index .L \"a\"}}",
		  "template: :1:2: executing \"\" at <index .L \"a\">: error calling index: "
		  "cannot index slice/array with type string");
	check_err(t, "{{upper .B}}",
		  "template: :1:8: executing \"\" at <.B>: wrong type for value; expected string; got int");
	check_err(t, "{{upper .Missing}}",
		  "template: :1:8: executing \"\" at <.Missing>: invalid value; expected string");
	check_err(t, "{{truncate .A \"x\"}}",
		  "template: :1:14: executing \"\" at <\"x\">: expected integer; found \"x\"");
	check_err(t, "{{range .S}}{{end}}", "template: :1:8: executing \"\" at <.S>: range can't iterate over a,b,c");
	check_err(
		t, "{{lt 1 \"a\"}}",
		"template: :1:2: executing \"\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison");
	check_err(t, "{{lt .T .T}}",
		  "template: :1:2: executing \"\" at <lt .T .T>: error calling lt: invalid type for comparison");
	check_err(t, "{{len .B}}", "template: :1:2: executing \"\" at <len .B>: error calling len: len of type int");
	check_err(t, "{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command");
	check_err(t, "{{\"a\" \"b\"}}",
		  "template: :1:2: executing \"\" at <\"a\">: can't give argument to non-function \"a\"");
	check_err(t, "line1\n{{.A}}\n  {{.Name.X.Y}}",
		  "template: :3:9: executing \"\" at <.Name.X.Y>: can't evaluate field X in type string");
	check_err(t, "{{template \"nope\"}}",
		  "template: :1:11: executing \"\" at <{{template \"nope\"}}>: "
		  "template \"nope\" not defined");
	check_err(t, "{{define \"T\"}}{{.X.Y}}{{end}}{{template \"T\" .A}}",
		  "template: :1:18: executing \"T\" at <.X.Y>: can't evaluate field X in type string");
	check_err(t, "{{pad .A -1 0}}",
		  "template: :1:2: executing \"\" at <pad .A -1 0>: error calling pad: strings: negative Repeat count");
}

static void test_parse_errors(struct tap *t)
{
	check_err(t, "{{.X", "template: :1: unclosed action");
	check_err(t, "{{.X}", "template: :1: unexpected \"}\" in operand");
	check_err(t, "{{end}}", "template: :1: unexpected {{end}}");
	check_err(t, "{{else}}", "template: :1: unexpected {{else}}");
	check_err(t, "{{if .X}}abc", "template: :1: unexpected EOF");
	check_err(t, "{{range}}{{end}}", "template: :1: missing value for range");
	check_err(t, "{{if}}{{end}}", "template: :1: missing value for if");
	check_err(t, "{{}}", "template: :1: missing value for command");
	check_err(t, "{{$x}}", "template: :1: undefined variable \"$x\"");
	check_err(t, "{{foo .X}}", "template: :1: function \"foo\" not defined");
	check_err(t, "{{.X | \"a\"}}", "template: :1: non executable command in pipeline stage 2");
	check_err(t, "{{/* x }}", "template: :1: unclosed comment");
	check_err(t, "{{/* x */ .X}}", "template: :1: comment ends before closing delimiter");
	check_err(t, "{{\"abc}}", "template: :1: unterminated quoted string");
	check_err(t, "{{`abc}}", "template: :1: unterminated raw quoted string");
	check_err(t, "{{3x}}", "template: :1: bad number syntax: \"3x\"");
	check_err(t, "{{.X!}}", "template: :1: bad character U+0021 '!'");
	check_err(t, "{{break}}", "template: :1: {{break}} outside {{range}}");
	check_err(t, "{{)}}", "template: :1: unexpected \")\" in command");
	check_err(t, "{{(.X}}", "template: :1: unclosed left paren");
	check_err(t, "a\nb\n{{.X", "template: :3: unclosed action");
	check_err(t, "{{if .X}}\n{{else}}\n{{else}}{{end}}", "template: :3: expected end; found {{else}}");
	check_err(t, "{{range $a, $b, $c := .L}}{{end}}", "template: :1: too many declarations in range");
	check_err(t, "{{$a, $b := .L}}", "template: :1: too many declarations in command");
	check_err(t, "{{.X.}}", "template: :1: unexpected <.> in operand");
	check_err(t, "{{\"a\".X}}", "template: :1: unexpected . after term \"\\\"a\\\"\"");
	check_err(t, "{{\"\\q\"}}", "template: :1: invalid syntax");
	check_err(t, "{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}",
		  "template: :1: template: multiple definition of template \"a\"");
	check_err(t, "{{with .A}}{{else if .B}}{{end}}", "template: :1: unexpected <if> in input");
	check_err(t, "{{.A | }}x", "(no error)");
	check_err(t, "{{range .L}}{{block \"b\" .}}{{break}}{{end}}{{end}}",
		  "template: :1: {{break}} outside {{range}}");
	check_err(t, "{{define \"x\"}}{{$y}}{{end}}", "template: :1: undefined variable \"$y\"");
	check_err(t, "{{if .A}}{{$v := 1}}{{end}}{{$v}}", "template: :1: undefined variable \"$v\"");
	check_err(t, "{{99999999999999999999}}", "template: :1: integer overflow: \"99999999999999999999\"");
}

/* user functions and methods */
static int fn_double(void *ctx, json_t *const *args, size_t n, json_t **out, struct berth_error *err)
{
	(void)ctx;
	if (n != 1 || !json_is_integer(args[0]))
		return berth_err(err, BERTH_E_INVALID, "want one int");
	*out = json_integer(2 * json_integer_value(args[0]));
	return 0;
}

static int m_label(void *ctx, json_t *const *args, size_t n, json_t **out, struct berth_error *err)
{
	(void)ctx;
	if (n != 2 || !json_is_string(args[1]))
		return berth_err(err, BERTH_E_INVALID, "Label wants a name");
	json_t *labels = json_object_get(args[0], "Labels");
	json_t *v = labels ? json_object_get(labels, json_string_value(args[1])) : NULL;
	*out = v ? json_incref(v) : json_string("");
	return 0;
}

static void test_user_funcs(struct tap *t)
{
	struct berth_tmpl_func funcs[] = {
		{"double", fn_double, NULL, false},
		{"Label", m_label, NULL, true},
	};
	struct berth_error err = {0};
	json_t *data = json_loads(DATA, 0, NULL);
	struct berth_tmpl *tm = berth_tmpl_parse_funcs(
		"{{double .B}} {{.B | double}} {{.Label \"b\"}}|{{.Label \"zz\"}}|", funcs, 2, &err);
	TAP_OK(t, tm != NULL, "parse with user funcs: %s", err.msg);
	struct berth_buf b = {0};
	if (tm) {
		TAP_OK(t, berth_tmpl_exec(tm, data, &b, &err) == 0, "exec with user funcs: %s", err.msg);
		TAP_STREQ(t, berth_buf_str(&b), "10 10 2||", "user function and method");
		berth_tmpl_free(tm);
	}
	berth_buf_free(&b);
	tm = berth_tmpl_parse_funcs("{{double .A}}", funcs, 2, &err);
	if (tm) {
		TAP_OK(t, berth_tmpl_exec(tm, data, &b, &err) < 0, "user function error");
		TAP_STREQ(t, err.msg,
			  "template: :1:2: executing \"\" at <double .A>: error calling double: want one int",
			  "user function error message");
		berth_tmpl_free(tm);
	}
	berth_buf_free(&b);
	TAP_OK(t, berth_tmpl_parse("{{double 1}}", &err) == NULL, "unknown without registration");
	json_decref(data);

	/* reuse: one template, several executions, header mode */
	tm = berth_tmpl_parse(
		"{{upper .Name}}|{{json .Name}}|{{truncate .Name 1}}|{{pad .Name 1 0}}|{{.Label \"com.x.my-app_v\"}}",
		&err);
	TAP_OK(t, tm != NULL, "parse header template");
	json_t *hdr = json_pack("{s:s}", "Name", "NAMES");
	if (tm && berth_tmpl_exec_flags(tm, hdr, BERTH_TMPL_HEADER, &b, &err) == 0)
		TAP_STREQ(t, berth_buf_str(&b), "NAMES|NAMES|NAMES| NAMES|my app v", "header functions");
	else
		TAP_OK(t, 0, "header exec: %s", err.msg);
	berth_buf_free(&b);
	json_t *row = json_pack("{s:s}", "Name", "web");
	if (tm && berth_tmpl_exec(tm, row, &b, &err) < 0)
		TAP_STREQ(t, err.msg,
			  "template: :1:72: executing \"\" at <.Label>: Label is not a method but has arguments",
			  "Label is only a method in header mode");
	else
		TAP_OK(t, 0, "expected Label error, got %s", berth_buf_str(&b));
	berth_buf_free(&b);
	json_decref(row);
	json_decref(hdr);
	berth_tmpl_free(tm);
}

static void test_gofmt(struct tap *t)
{
	struct berth_buf b = {0};
	double vals[] = {
		0, 1, -1, 0.1, 1.0 / 3, 123456, 1234567, 1e20, 1e21, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308};
	const char *want_v[] = {
		"0",     "1",      "-1",    "0.1",    "0.3333333333333333",     "123456", "1.234567e+06", "1e+20",
		"1e+21", "0.0001", "1e-05", "5e-324", "1.7976931348623157e+308"};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		b.len = 0;
		go_fmt_float_v(&b, vals[i]);
		TAP_STREQ(t, berth_buf_str(&b), want_v[i], "%%v of %s", want_v[i]);
	}
	b.len = 0;
	go_quote(&b, "a\"b\\c\n\x01\xff\xc3\xa9", 10);
	TAP_STREQ(t, berth_buf_str(&b), "\"a\\\"b\\\\c\\n\\x01\\xff\xc3\xa9\"", "strconv.Quote");
	b.len = 0;
	json_t *v = json_pack("{s:s,s:[i,f],s:{}}", "a", "<&>", "b", 1, 2.5, "c");
	go_json_encode(&b, v, true);
	TAP_STREQ(t, berth_buf_str(&b), "{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":[1,2.5],\"c\":{}}",
		  "json.Marshal escapes HTML");
	b.len = 0;
	go_json_encode_indent(&b, v, "", "    ", false);
	TAP_STREQ(t, berth_buf_str(&b),
		  "{\n    \"a\": \"<&>\",\n    \"b\": [\n        1,\n        2.5\n    ],\n    \"c\": {}\n}",
		  "json.MarshalIndent layout");
	json_decref(v);
	berth_buf_free(&b);
}

static void list(struct tap *t, const char *format, const char *deflt, json_t *items, const char *want,
		 const char *what)
{
	static const struct berth_header_map hdrs[] = {
		{"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"ID", "IMAGE ID"}, {"Size", "SIZE"}, {NULL, NULL}};
	struct berth_buf b = {0};
	struct berth_error err = {0};
	int rc = berth_format_list_buf(format, deflt, hdrs, items, &b, &err);
	TAP_STREQ(t, rc == 0 ? berth_buf_str(&b) : err.msg, want, "%s", what);
	berth_buf_free(&b);
}

static void test_table(struct tap *t)
{
	struct berth_buf b = {0};
	struct berth_tabwriter *w = berth_tabwriter_docker(&b);
	berth_tabwriter_puts(w, "a\tbb\nccc\td\n");
	berth_tabwriter_flush(w);
	TAP_STREQ(t, berth_buf_str(&b), "a         bb\nccc       d\n", "tabwriter minwidth 10");
	b.len = 0;
	berth_tabwriter_puts(w, "REPOSITORY\tTAG\tIMAGE ID\nverylongrepositoryname\tv1\tabc\nx\n");
	berth_tabwriter_puts(w, "a\tb\n");
	berth_tabwriter_flush(w);
	TAP_STREQ(
		t, berth_buf_str(&b),
		"REPOSITORY               TAG       IMAGE ID\nverylongrepositoryname   v1        abc\nx\na         b\n",
		"tabwriter padding 3, single-cell line flushes");
	berth_tabwriter_free(w);

	/* Go's text/tabwriter documentation examples */
	b.len = 0;
	w = berth_tabwriter_new(&b, 0, 8, 1, '.', BERTH_TW_ALIGN_RIGHT | BERTH_TW_DEBUG);
	berth_tabwriter_puts(w, "a\tb\tc\naa\tbb\tcc\naaa\t\naaaa\tdddd\teeee\n");
	berth_tabwriter_flush(w);
	TAP_STREQ(t, berth_buf_str(&b), "....a|..b|c\n...aa|.bb|cc\n..aaa|\n.aaaa|.dddd|eeee\n", "Example_elastic");
	berth_tabwriter_free(w);
	b.len = 0;
	w = berth_tabwriter_new(&b, 0, 0, 3, '-', BERTH_TW_ALIGN_RIGHT | BERTH_TW_DEBUG);
	berth_tabwriter_puts(w, "a\tb\taligned\t\naa\tbb\taligned\t\naaa\tbbb\tunaligned\naaaa\tbbbb\taligned\t\n");
	berth_tabwriter_flush(w);
	TAP_STREQ(t, berth_buf_str(&b),
		  "------a|------b|---aligned|\n-----aa|-----bb|---aligned|\n----aaa|----bbb|unaligned\n"
		  "---aaaa|---bbbb|---aligned|\n",
		  "Example_trailingTab");
	berth_tabwriter_free(w);
	b.len = 0;
	w = berth_tabwriter_new(&b, 5, 0, 1, ' ', 0);
	berth_tabwriter_puts(w, "\xc3\xa9\xc3\xa9\tx\nab\ty");
	berth_tabwriter_flush(w);
	TAP_STREQ(t, berth_buf_str(&b), "\xc3\xa9\xc3\xa9   x\nab   y", "width counts runes, pending text flushed");
	berth_tabwriter_free(w);
	berth_buf_free(&b);

	json_t *items =
		json_loads("[{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"sha256:abc\",\"Size\":\"4.26MB\"},"
			   "{\"Repository\":\"alpine\",\"Tag\":\"3.19\",\"ID\":\"sha256:def\",\"Size\":\"7.38MB\"}]",
			   0, NULL);
	const char *deflt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}";
	const char *want_default = "REPOSITORY   TAG       IMAGE ID     SIZE\n"
				   "busybox      latest    sha256:abc   4.26MB\n"
				   "alpine       3.19      sha256:def   7.38MB\n";
	list(t, NULL, deflt, items, want_default, "default table");
	list(t, "", deflt, items, want_default, "empty format = default");
	list(t, "table", deflt, items, want_default, "\"table\" = default");
	list(t, "table {{.Repository}}\t{{.Tag}}", deflt, items,
	     "REPOSITORY   TAG\nbusybox      latest\nalpine       3.19\n", "custom table");
	list(t, "table {{.Repository}}\\t{{.Tag}}", deflt, items,
	     "REPOSITORY   TAG\nbusybox      latest\nalpine       3.19\n", "custom table with \\t escape");
	list(t, "  {{.Repository}}:{{.Tag}}  ", deflt, items, "busybox:latest\nalpine:3.19\n", "non-table format");
	list(t, "{{.Repository}}\\t{{.Tag}}", deflt, items, "busybox\tlatest\nalpine\t3.19\n", "non-table not aligned");
	list(t, "json", deflt, items,
	     "{\"Repository\":\"busybox\",\"Tag\":\"latest\",\"ID\":\"sha256:abc\",\"Size\":\"4.26MB\"}\n"
	     "{\"Repository\":\"alpine\",\"Tag\":\"3.19\",\"ID\":\"sha256:def\",\"Size\":\"7.38MB\"}\n",
	     "json format");
	list(t, "table {{upper .Repository}}\t{{json .Tag}}\t{{.Nope}}", deflt, items,
	     "REPOSITORY   TAG        <no value>\nBUSYBOX      \"latest\"   <no value>\nALPINE       \"3.19\"     <no value>\n",
	     "header functions and unknown field");
	json_t *none = json_array();
	list(t, NULL, deflt, none, "REPOSITORY   TAG       IMAGE ID   SIZE\n", "empty list prints header");
	list(t, "{{.ID}}", deflt, none, "", "empty list, no table");
	json_decref(none);
	list(t, "table {{.ID", deflt, items, "template parsing error: template: :1: unclosed action", "parse error");
	list(t, "{{.ID.X}}", deflt, items,
	     "template parsing error: template: :1:5: executing \"\" at <.ID.X>: can't evaluate field X in type string",
	     "exec error");

	/* inspect */
	struct berth_error err = {0};
	b.len = 0;
	TAP_OK(t, berth_format_inspect_buf(NULL, items, &b, &err) == 0, "inspect json");
	TAP_STREQ(t, berth_buf_str(&b),
		  "[\n    {\n        \"Repository\": \"busybox\",\n        \"Tag\": \"latest\",\n"
		  "        \"ID\": \"sha256:abc\",\n        \"Size\": \"4.26MB\"\n    },\n    {\n"
		  "        \"Repository\": \"alpine\",\n        \"Tag\": \"3.19\",\n"
		  "        \"ID\": \"sha256:def\",\n        \"Size\": \"7.38MB\"\n    }\n]\n",
		  "inspect json layout");
	b.len = 0;
	TAP_OK(t, berth_format_inspect_buf("{{.Tag}}", items, &b, &err) == 0, "inspect -f");
	TAP_STREQ(t, berth_buf_str(&b), "latest\n3.19\n", "inspect -f output");
	b.len = 0;
	json_t *mixed = json_loads("[{\"A\":\"s\"},{\"A\":{\"B\":1}}]", 0, NULL);
	TAP_OK(t, berth_format_inspect_buf("{{.A.B}}", mixed, &b, &err) < 0, "inspect -f error");
	TAP_STREQ(t, berth_buf_str(&b), "1\n", "inspect prints the elements that worked");
	TAP_STREQ(
		t, err.msg,
		"Template parsing error: template: :1:4: executing \"\" at <.A.B>: can't evaluate field B in type string",
		"inspect error message");
	json_decref(mixed);
	b.len = 0;
	json_t *empty = json_array();
	berth_format_inspect_buf(NULL, empty, &b, &err);
	TAP_STREQ(t, berth_buf_str(&b), "[]\n", "inspect of nothing");
	json_decref(empty);
	b.len = 0;
	json_t *cmd = json_loads("[{\"Cmd\":[\"sh\",\"-c\",\"a && b > c\"],\"E\":[],\"O\":{}}]", 0, NULL);
	berth_format_inspect_buf(NULL, cmd, &b, &err);
	TAP_STREQ(
		t, berth_buf_str(&b),
		"[\n    {\n        \"Cmd\": [\n            \"sh\",\n            \"-c\",\n"
		"            \"a \\u0026\\u0026 b \\u003e c\"\n        ],\n        \"E\": [],\n        \"O\": {}\n    }\n]\n",
		"inspect escapes HTML like the daemon's JSON");
	b.len = 0;
	berth_format_inspect_buf("{{json .Cmd}}", cmd, &b, &err);
	TAP_STREQ(t, berth_buf_str(&b), "[\"sh\",\"-c\",\"a && b > c\"]\n", "inspect -f json does not escape");
	json_decref(cmd);
	berth_buf_free(&b);
	json_decref(items);
}

int main(void)
{
	struct tap t = {0};
	test_basics(&t);
	test_docker_templates(&t);
	test_control(&t);
	test_funcs(&t);
	test_exec_errors(&t);
	test_parse_errors(&t);
	test_user_funcs(&t);
	test_gofmt(&t);
	test_table(&t);
	return TAP_DONE(&t);
}
