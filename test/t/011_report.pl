# The report in a real browser: rfm_report() of a model of the Online Retail
# orders (as of 2011-06-30, refreshed as of 2011-12-10) is rendered by
# Debian's chromium in headless mode.  The test checks the screenshot (the
# expected size, not blank) and, in the DOM as the browser parsed it, that
# every chart is there with as many elements as the model has cells,
# segments, stages, points, transitions and CLV bins.  A second model with a
# hostile name, customer key and segment label must put no markup of theirs
# into the DOM.  The screenshots stay in tmp_check/ (report-en.png,
# report-zh.png), and are copied to $RFM_ARTIFACT_DIR when that is set (for
# CI to keep); docs/report.png is a copy of report-en.png.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $csv = abs_path(dirname(__FILE__) . '/../data/online_retail_invoices.csv');
my $out = $PostgreSQL::Test::Utils::tmp_check;
my ($width, $height) = (1200, 4800);
# chromium and python3-pil come from Debian (tools/setup.sh); PIL only for
# the system interpreter
my $python = $ENV{PYTHON} // (-x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3');
my $chromium = $ENV{CHROMIUM} // 'chromium';

# Runs chromium headless on a file with the given arguments; returns stdout.
sub chromium
{
	my ($file, @args) = @_;
	my $profile = "$out/chromium-profile";
	make_path($profile);
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(
		[
			$chromium, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
			'--no-first-run', '--disable-dev-shm-usage', "--user-data-dir=$profile", @args,
			"file://$file"
		],
		'>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(180));
	diag("chromium exited with " . ($? >> 8) . ":\n$stderr") if $?;
	return $stdout;
}

# The parts of a DOM by chart: data-chart => the <svg> element's markup.
sub charts
{
	my ($dom) = @_;
	my %chart;
	while ($dom =~ m{(<svg\b[^>]*\bdata-chart="([^"]+)".*?</svg>)}gs)
	{
		$chart{$2} = $1;
	}
	return %chart;
}

sub count_of
{
	my ($text, $re) = @_;
	my $n = () = $text =~ /$re/g;
	return $n;
}

my ($o, $e) = ('', '');
if (!ok(IPC::Run::run([ $chromium, '--version' ], '>', \$o, '2>', \$e), "$chromium runs: $o"))
{
	diag("Install chromium (tools/setup.sh does).\n$e");
	done_testing();
	exit;
}
($o, $e) = ('', '');
if (!ok(IPC::Run::run([ $python, '-c', 'import PIL' ], '>', \$o, '2>', \$e), "$python can import PIL"))
{
	diag("Install python3-pil (tools/setup.sh does).\n$e");
	done_testing();
	exit;
}

my $node = PostgreSQL::Test::Cluster->new('report');
$node->init;
$node->start;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION rfm;
	CREATE TABLE orders (invoice text, customer_id integer, invoice_time timestamptz,
	                     amount numeric, cancelled boolean, country text);
	SET TimeZone = 'UTC';
	COPY orders FROM '$csv' WITH (FORMAT csv, HEADER true);
	SELECT count(*) FROM rfm_create_model('shop', 'orders', 'customer_id', 'invoice_time', 'amount',
	                                      as_of => '2011-06-30 00:00+00', time_unit => 'week',
	                                      clv_horizon => 52, margin => 0.3, discount_rate => 0.10 / 52);
	CALL rfm_refresh('shop', '2011-12-10 00:00+00');
});

# Writes a report to a file; returns its path.
sub write_report
{
	my ($model, $lang, $name) = @_;
	my $html = $node->safe_psql('postgres', "SELECT rfm_report('$model', '$lang')");
	my $file = "$out/$name.html";
	open(my $fh, '>:raw', $file) or die "cannot write $file: $!";
	print $fh $html;
	close($fh);
	return $file;
}

my $en = write_report('shop', 'en', 'report-en');
my $zh = write_report('shop', 'zh', 'report-zh');

# The screenshots: the expected size, and not blank.
for my $lang ('en', 'zh')
{
	my $png = "$out/report-$lang.png";
	unlink $png;
	chromium("$out/report-$lang.html", "--screenshot=$png", "--window-size=$width,$height");
	ok(-s $png, "chromium wrote $png");
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(
		[
			$python, '-c', q{
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert('RGB')
w, h = im.size
colours = im.getcolors(w * h)
white = sum(n for n, c in colours if min(c) >= 250)
dark = sum(n for n, c in colours if c == (8, 48, 107))
print(w, h, len(colours), round(1 - white / (w * h), 4), dark)
}, $png
		],
		'>', \$stdout, '2>', \$stderr);
	my ($w, $h, $colours, $ink, $dark) = split ' ', $stdout;
	is("$w x $h", "$width x $height", "report-$lang.png is $width x $height") or diag($stderr);
	cmp_ok($colours, '>', 100, "report-$lang.png has many colours ($colours): text, charts, shades");
	cmp_ok($ink, '>', 0.04, "report-$lang.png is not blank: $ink of it is not white");
	cmp_ok($dark, '>', 500, "report-$lang.png shows the darkest blue of the charts ($dark pixels)");
	if ($ENV{RFM_ARTIFACT_DIR})
	{
		make_path($ENV{RFM_ARTIFACT_DIR});
		copy($png, "$ENV{RFM_ARTIFACT_DIR}/report-$lang.png") or diag("cannot copy $png: $!");
	}
}

# What the browser parsed, against the model.
my %want = split /[|\n]/, $node->safe_psql('postgres', q{
	SELECT 'grid-rf', count(DISTINCT (r_score, f_score)) FROM shop_customers
	UNION ALL SELECT 'grid-rm', count(DISTINCT (r_score, m_score)) FROM shop_customers
	UNION ALL SELECT 'segments', count(*) FROM shop_segments
	UNION ALL SELECT 'lifecycle', count(DISTINCT lifecycle_stage) FROM shop_customers
	UNION ALL SELECT 'pareto', count(*) + 1 FROM shop_pareto
	UNION ALL SELECT 'transitions', count(*) FROM rfm_transition_matrix('shop')
	UNION ALL SELECT 'whale', count(*) + 1 FROM shop_pareto WHERE profit_share IS NOT NULL
	UNION ALL SELECT 'ae_transitions', count(*) FROM rfm_transition_matrix('shop', by => 'ae_group')
	UNION ALL SELECT 'top', least(count(*), 10) FROM shop_customers
});
# the CLV bins, by walking the 1-2-5 edges here
my @edges = (0);
for my $k (0 .. 12)
{
	push @edges, map { $_ * 10**$k } (1, 2, 5);
}
my ($lo, $hi);
for my $clv (split /\n/, $node->safe_psql('postgres', 'SELECT clv FROM shop_customers WHERE clv IS NOT NULL'))
{
	my $bin = -1;
	$bin++ while $bin + 1 < @edges && $clv >= $edges[ $bin + 1 ];
	$lo = $bin if !defined $lo || $bin < $lo;
	$hi = $bin if !defined $hi || $bin > $hi;
}
$want{clv} = $hi - $lo + 1;

for my $lang ('en', 'zh')
{
	my $dom = chromium("$out/report-$lang.html", '--dump-dom');
	my %chart = charts($dom);
	is_deeply([ sort keys %chart ], [qw(ae_transitions clv grid-rf grid-rm lifecycle pareto transitions whale)],
		"$lang: the browser has every chart");
	is(count_of($chart{'grid-rf'} // '', qr/<rect class="cell"/), $want{'grid-rf'},
		"$lang: R x F grid has a square per cell with customers ($want{'grid-rf'})");
	is(count_of($chart{'grid-rm'} // '', qr/<rect class="cell"/), $want{'grid-rm'},
		"$lang: R x M grid has a square per cell with customers ($want{'grid-rm'})");
	is(count_of($dom, qr/<tr class="segment">/), $want{segments},
		"$lang: the segment table has a row per segment ($want{segments})");
	is(count_of($chart{lifecycle} // '', qr/<rect class="stage"/), $want{lifecycle},
		"$lang: the funnel has a bar per lifecycle stage ($want{lifecycle})");
	my ($points) = ($chart{pareto} // '') =~ /<polyline class="curve"[^>]*points="([^"]*)"/;
	is(count_of($points // '', qr/[0-9.]+,[0-9.]+/), $want{pareto},
		"$lang: the Pareto curve has the origin and a point per percent ($want{pareto})");
	is(count_of($chart{transitions} // '', qr/<rect class="cell"/), $want{transitions},
		"$lang: the transitions have a square per pair of rfm_transition_matrix ($want{transitions})");
	my ($whale) = ($chart{whale} // '') =~ /<polyline class="curve"[^>]*points="([^"]*)"/;
	is(count_of($whale // '', qr/[0-9.]+,[0-9.]+/), $want{whale},
		"$lang: the whale curve has the origin and a point per percent ($want{whale})");
	is(count_of($chart{ae_transitions} // '', qr/<rect class="cell"/), $want{ae_transitions},
		"$lang: the A-E transitions have a square per pair of rfm_transition_matrix by ae_group ($want{ae_transitions})");
	is(count_of($chart{clv} // '', qr/<rect class="bar"/), $want{clv},
		"$lang: the CLV histogram has a bar per bin from the lowest to the highest ($want{clv})");
	is(count_of($dom, qr/<tr class="customer">/), $want{top}, "$lang: the top customers ($want{top})");
	unlike($dom, qr/<script/i, "$lang: no script element");
}
my $dom_zh = chromium($zh, '--dump-dom');
like($dom_zh, qr/<h1>客户价值报告: shop<\/h1>/, 'zh: the title is in Chinese');
like($dom_zh, qr/<th>冠军客户<\/th>/, 'zh: the segment labels are in Chinese') or diag(
	'rfm_label(Champions, zh) = ' . $node->safe_psql('postgres', q{SELECT rfm_label('Champions', 'zh')}));

# Hostile values: a model name, a customer key and a segment label edited by
# a user, each with markup.  The browser must see text, not elements.
$node->safe_psql('postgres', q{
	CREATE VIEW hostile_orders AS
	SELECT CASE WHEN customer_id = 14646 THEN '<script>document.title="x"</script><i id="key">14646'
	            ELSE customer_id::text END AS customer, invoice_time, amount
	FROM orders WHERE invoice_time >= '2011-09-01';
	UPDATE rfm_segment_action SET label_en = '<img id="label" src="x">Champions & "co"' WHERE segment = 'Champions';
	SELECT count(*) FROM rfm_create_model('<b id="name">shop</b>''s', 'hostile_orders', 'customer', 'invoice_time',
	                                      'amount', as_of => '2011-12-10 00:00+00', clv => false);
});
my $hostile = write_report(q{<b id="name">shop</b>''s}, 'en', 'report-hostile');
my $dom = chromium($hostile, '--dump-dom');
my %tags;
$tags{ lc $1 }++ while $dom =~ /<([a-zA-Z][a-zA-Z0-9]*)/g;
is_deeply(
	[ sort keys %tags ],
	[
		qw(body div figcaption figure footer g h1 h2 head html line meta p polyline rect section span
		  style svg table tbody td text th thead title tr)
	],
	'hostile: the DOM has only the report\'s own elements');
unlike($dom, qr/<[a-z][^<>]*\sid="(?:name|key|label)"/, 'hostile: no element of the hostile values');
like($dom, qr/<h1>Customer value report: &lt;b id="name"&gt;shop&lt;\/b&gt;'s<\/h1>/,
	'hostile: the model name is text');
like($dom, qr/<th>&lt;script&gt;document\.title="x"&lt;\/script&gt;&lt;i id="key"&gt;14646<\/th>/,
	'hostile: the customer key is text');
like($dom, qr/<th>&lt;img id="label" src="x"&gt;Champions &amp; "co"<\/th>/, 'hostile: the segment label is text');
like($dom, qr/<title>Customer value report: &lt;b id="name"&gt;shop&lt;\/b&gt;'s<\/title>/,
	'hostile: the document title is the name as text');

$node->stop;
done_testing();
