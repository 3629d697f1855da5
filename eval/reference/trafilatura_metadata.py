# trafilatura's extract_metadata on the pages `textpipe eval metadata` scores, with the same
# comparison (lower-cased, white space collapsed; authors as name sets; dates as YYYY-MM-DD)
# and the same set-aside tenth of sites (FNV-1a of the domain, mod 10 == 9).
#
#   python3 -m venv /tmp/tv && /tmp/tv/bin/pip install trafilatura lxml_html_clean
#   /tmp/tv/bin/python eval/reference/trafilatura_metadata.py ../shared/eval/clean/
import json, gzip, re, sys, hashlib
from trafilatura import extract_metadata
def norm(s):
    s = s.replace('’',"'").replace('‘',"'").replace('“','"').replace('”','"').replace('–','-').replace('—','-')
    return ' '.join(s.lower().split())
def names(s):
    s = norm(s).replace(' and ', ',').replace(' & ', ',')
    out=set()
    for n in re.split(r'[,;|]', s):
        n=n.strip()
        if n.startswith('by '): n=n[3:].strip()
        if n: out.add(n)
    return out
def ymd(s):
    m = re.search(r'\d{4}-\d{2}-\d{2}', s or '')
    return m.group(0) if m else None
def match(k, got, want):
    got = got or ''
    if k=='title': return norm(got)==norm(want)
    if k=='author': return names(got)==names(want)
    return ymd(got) is not None and ymd(got)==ymd(want)
def fnv(s):
    h=0xcbf29ce484222325
    for b in s.encode():
        h ^= b; h = (h*0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
counts={}
base = sys.argv[1].rstrip('/') + '/' if len(sys.argv) > 1 else '../shared/eval/clean/'
for f in ['wcxb-dev.jsonl','trafilatura-eval.jsonl']:
    for l in open(base+f):
        r=json.loads(l)
        p=base+'html/'+r['html_file']
        raw=(gzip.open(p).read() if p.endswith('.gz') else open(p,'rb').read()).decode('utf-8','replace')
        dom = r.get('domain') or re.sub(r'^www\.','',(r.get('url') or '').split('://')[-1].split('/')[0].lower()) or r['id']
        held = fnv(dom.lower()) % 10 == 9
        bench = ('wcxb' if 'page_type' in r and r.get('page_type') else 'trafilatura') + (', set-aside' if held else '')
        try:
            m = extract_metadata(raw, default_url=r.get('url'))
        except Exception:
            m = None
        for k in ['title','author','date']:
            want = r.get(k)
            if not isinstance(want, str): continue
            want = want.strip()
            if not want: continue
            got = getattr(m, k, None) if m else None
            c=counts.setdefault((bench,k),[0,0]); c[1]+=1; c[0]+= match(k, got, want)
for (b,k),(a,n) in sorted(counts.items()):
    print(f'{b:<24} {k:<7} {a:>5}/{n:<5} {a/n:.3f}')
