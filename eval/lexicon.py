"""A learned word model as a diagnoser, measured the way a blind set measures:
train on every labelled set but one, score the one left out (never blind-7).

A naive Bayes over the words and word pairs present in each case's text,
with its posterior as confidence; below the threshold it answers unknown.
Prints, per held-out set, threshold: right % / wrong % (right counts
acceptable alternatives). Run: python3 eval/lexicon.py (standard library only).
Result on 2026-12-07 (docs/benchmarks.md): 35-55 % right with 45-64 % wrong
(25-42 % right, 20-35 % wrong abstaining below 0.99), far worse than the
rules on the same unseen sets; it is not used by medic.
"""
import json, os, re, math, collections, sys
SETS = ['corpus','holdout','blind-2','blind-3','blind-4','blind-5','blind-6']
def load(n): return [json.loads(l) for l in open(os.path.join(os.path.dirname(os.path.abspath(__file__)), f'{n}.jsonl'))]
TOK = re.compile(r'[a-z][a-z_]+')
def toks(text, bigrams=True):
    w = [t for t in TOK.findall(text.lower()) if len(t) > 2]
    out = set(w)
    if bigrams: out |= {a+' '+b for a,b in zip(w,w[1:])}
    return out
def train(items, alpha=0.5, bigrams=True):
    df = collections.defaultdict(collections.Counter); n = collections.Counter()
    for it in items:
        c = it['category']; n[c]+=1
        for t in toks(it['text'], bigrams): df[c][t]+=1
    vocab = set().union(*[set(d) for d in df.values()])
    return df, n, vocab, alpha, bigrams
def predict(m, text):
    df, n, vocab, alpha, bigrams = m
    ts = [t for t in toks(text, bigrams) if t in vocab]
    tot = sum(n.values()); scores = {}
    for c in n:
        s = math.log(n[c]/tot)
        for t in ts:
            # Bernoulli-ish presence likelihood
            s += math.log((df[c][t]+alpha)/(n[c]+2*alpha))
            s -= math.log((sum(df[k][t] for k in n)+alpha)/(tot+2*alpha))
        scores[c]=s
    best = sorted(scores.items(), key=lambda kv:-kv[1])
    # posterior approx
    mx = best[0][1]; z = sum(math.exp(v-mx) for _,v in best)
    return best[0][0], 1/z
def score(items, pred, thr):
    right=wrong=unk=0
    for it in items:
        c,p = pred(it['text'])
        if p < thr: c='unknown'
        ok = c==it['category'] or c in it.get('acceptable',[])
        if ok: right+=1
        elif c=='unknown': unk+=1
        else: wrong+=1
    N=len(items); return 100*right/N, 100*wrong/N
if __name__=='__main__':
    data={s:load(s) for s in SETS}
    for held in ['blind-3','blind-4','blind-5','blind-6']:
        tr=[i for s in SETS if s!=held for i in data[s]]
        m=train(tr)
        row=[held]
        for thr in (0.0,0.5,0.8,0.95,0.99):
            r,w=score(data[held], lambda t: predict(m,t), thr); row.append(f'{thr}:{r:.1f}/{w:.1f}')
        print(*row)
