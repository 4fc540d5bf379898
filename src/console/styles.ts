/**
 * The console's one stylesheet, served from /console/assets/console.css (the
 * CSP allows styles from our own origin only). Mobile first: tables scroll
 * sideways inside .scroll on narrow screens, forms stack in one column.
 */
export const CONSOLE_CSS = `
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f6f7fa;--card:#fff;--accent:#2457c5;
--ok:#1f7a44;--warn:#9a6200;--bad:#b42318;--info:#2457c5;--idle:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
header.top{background:#172033;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
header.top .brand{font-weight:700;color:#fff;text-decoration:none;margin-right:.5rem}
nav.main{display:flex;flex-wrap:wrap;gap:.2rem .9rem}
nav.main a{color:#c9d6f2;text-decoration:none;padding:.15rem 0;border-bottom:2px solid transparent}
nav.main a[aria-current=page]{color:#fff;border-bottom-color:#8fb0ff}
header.top .who{margin-left:auto;display:flex;gap:.6rem;align-items:center;font-size:13px;color:#c9d6f2}
header.top .who button{background:none;border:1px solid #56627c;color:#fff;border-radius:4px;padding:.15rem .5rem;cursor:pointer}
main{max-width:76rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.4rem 0 1rem}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
caption{text-align:left;caption-side:top;padding:0 0 .4rem}
th{font-size:13px;color:var(--muted);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
form.inline{display:inline}
label{display:block;font-weight:600;margin:.7rem 0 .2rem}
label.check{display:flex;gap:.4rem;align-items:center;font-weight:400;margin:.2rem 0}
input[type=text],input[type=url],input[type=password],input[type=number],input[type=search],select{
width:100%;max-width:32rem;padding:.45rem .55rem;border:1px solid #b8c0cc;border-radius:5px;font:inherit;background:#fff}
fieldset{border:1px solid var(--line);border-radius:6px;margin:.8rem 0;padding:.5rem .8rem}
legend{font-weight:600;padding:0 .3rem}
.cols{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0 1rem}
.grid2{display:grid;grid-template-columns:1fr;gap:0 1.5rem}
@media(min-width:48rem){.grid2{grid-template-columns:1fr 1fr}}
button,.button{display:inline-block;background:var(--accent);color:#fff;border:0;border-radius:5px;padding:.45rem .9rem;
font:inherit;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#e7ebf3;color:var(--fg)}
button.danger{background:var(--bad)}
.progress .mono{white-space:nowrap}
.card>h2:first-child{margin-top:0}
.small{padding:.25rem .6rem;font-size:13px;line-height:1.4}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;margin-top:1rem}
.hint{color:var(--muted);font-size:13px;margin:.2rem 0}
.field-error{color:var(--bad);font-size:13px;margin:.25rem 0 0;font-weight:600}
[aria-invalid=true]{border-color:var(--bad)!important;outline:1px solid var(--bad)}
fieldset[aria-invalid=true]{outline:none;border:2px solid var(--bad)}
.flash{border-radius:6px;padding:.6rem .8rem;margin:0 0 1rem;border:1px solid}
.flash.ok{background:#eaf6ee;border-color:#a6d8b7;color:#14532d}
.flash.error{background:#fdeceb;border-color:#f3b3ad;color:#7a1b12}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.b-healthy,.b-succeeded,.b-streaming,.b-resolved{background:var(--ok)}
.b-running,.b-queued,.b-starting{background:var(--info)}
.b-stale,.b-never_synced,.b-backoff,.b-open,.b-degraded{background:var(--warn)}
.b-failing,.b-failed,.b-error,.b-lost{background:var(--bad)}
.b-disabled,.b-cancelled,.b-stopped,.b-discarded,.b-unknown{background:var(--idle)}
.jobs{display:grid;grid-template-columns:1fr;gap:1rem}
@media(min-width:60rem){.jobs{grid-template-columns:1fr 1fr}}
.job{border-left:5px solid var(--ok)}
.job.attention{border-left-color:var(--bad);background:#fffafa}
.job.busy{border-left-color:var(--info)}
.job.off{border-left-color:var(--idle)}
.job h3{margin:0 0 .4rem;font-size:1rem;display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
.why{color:var(--bad);font-weight:600;margin:.2rem 0 .4rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;font-variant-numeric:tabular-nums}
progress{width:10rem;max-width:100%;height:.8rem;vertical-align:middle}
.hits{list-style:none;padding:0;margin:0}
.hits li{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem;margin:0 0 .6rem}
.hits h3{margin:0 0 .2rem;font-size:1rem}
mark{background:#ffe58a;padding:0 .1rem;border-radius:2px}
.search-layout{display:grid;grid-template-columns:1fr;gap:1rem}
@media(min-width:52rem){.search-layout{grid-template-columns:15rem 1fr}}
.facet h3{font-size:.95rem;margin:.2rem 0}
.pager{display:flex;gap:.6rem;align-items:center;margin:.8rem 0}
.plot svg{width:100%;height:auto;max-width:44rem;background:#fff;border:1px solid var(--line);border-radius:6px}
.muted{color:var(--muted)}
textarea{width:100%;padding:.45rem .55rem;border:1px solid #b8c0cc;border-radius:5px;background:#fff}
ul.plain,ul.warnings{list-style:none;padding:0;margin:0 0 .6rem}
pre.doc{background:#f3f5f9;border:1px solid var(--line);border-radius:6px;padding:.5rem;overflow-x:auto}
.login{max-width:28rem;margin:3rem auto}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.4rem;z-index:9}
`;
