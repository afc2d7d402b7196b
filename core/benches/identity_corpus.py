#!/usr/bin/env python3
"""Byte-identity corpus for speed work on the sentiment engine: every text of the development sets
(../shared/data/sentiment, or $SENTIMAP_SENTIMENT_DATA), then N seeded mutations of them (case
flips, emoji, emoticons glued or apart, negators, boosters, punctuation, elongations, hashtags,
URLs and mentions, HTML entities, curly apostrophes, other scripts and spaces, language tags), as
JSONL {"id", "text"[, "lang"]} on stdout. A change that must not change output is checked with

    python3 core/benches/identity_corpus.py 12345 25000 > /tmp/corpus.jsonl
    sentimap-before score < /tmp/corpus.jsonl > /tmp/before.out
    target/release/sentimap score < /tmp/corpus.jsonl > /tmp/after.out
    cmp /tmp/before.out /tmp/after.out

(or with the bench binary: SENTIMAP_BENCH_STDIN=1, see core/benches/sentiment.rs).
Arguments: seed (default 12345), number of mutated texts (default 25000).
"""
import glob
import json
import os
import random
import sys
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 12345)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 25000
texts = []
DATA = os.environ.get('SENTIMAP_SENTIMENT_DATA') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'data', 'sentiment')
for f in sorted(glob.glob(os.path.join(DATA, '*', '*.jsonl'))):
    for line in open(f, encoding='utf-8'):
        try:
            texts.append(json.loads(line)['text'])
        except Exception:
            pass
EMOJI = ['😀','😂','😭','😡','❤️','💔','👍🏽','👎','🙏🏿','👨‍👩‍👧','🇬🇧','🇺🇸','1️⃣','✨','🔥','😐','🤔','💀','🥰','😢','☹️','♥','⭐','🤬','👩🏾‍💻','🏳️‍🌈','🄰','↔️','〰️']
EMOT = [':)',':-)',':D',';)',':(',":'(",':P','<3','</3','xD','XD','^_^',':/','=)',':-(','D:',':|','(:',':-D','>:(','8)',':p',':o',':O',';-)','<333',':))',':((']
NEG = ['not','never',"isn't","don't",'without','no','nothing',"can't","aint","won't",'hardly',"didn’t","isnt"]
BOOST = ['very','so','extremely','kinda','sort of','kind of','barely','really','totally','sooo','VERY','at least','least','no doubt']
PUNCT = ['!','!!','!!!','?','??','???','?!','.','...','…',',',';',':','—','–','"',"'",'(',')','“','”','’','‘']
WORDS = ['good','bad','great','GREAT','Good','awful','love','hate','but','however','although','though','like','well','as well','kind','sort','of','the','happy','sad','lol','lmao','wtf','omg','smh','idk','best','worst','coolest','funnier','happily','hottest','god\'s','The Kind Of Day','Bad Girls Club','Miss USA','yeah right','cut the mustard','not bad','bad ass','kiss of death','no problem']
ENT = ['&amp;','&lt;3','&gt;','&quot;','&#39;','&#x1F600;','&nbsp;','&hearts;','&lt;/3','&amp;amp;','&#128514;','&apos;','&bogus;','&']
LANGS = [None, None, None, 'en', 'es', 'fr', 'und', 'en-GB', 'pt_BR', 'ja', '', ' en ', 'EN', 'zxx', 'de', 'qme']
URLS = ['http://t.co/abc','https://x.com/a?b=c','www.foo.com','@user','@User_1:','＠foo','RT','rt','#MerryChristmas','#XMASParty','#love2024','#NotGood','#sooohappy','#','@','#i_hate_it']
def elong(w):
    if not w: return w
    i = rng.randrange(len(w)); return w[:i] + w[i]*rng.randint(2,6) + w[i:]
def glue_or_insert(toks, pos, s):
    """Glues s to the end of a random token half the time, else inserts it as a token at pos."""
    if toks and rng.random() < .5:
        k = rng.randrange(len(toks)); toks[k] = toks[k] + s
    else: toks.insert(pos, s)

def mutate(t):
    toks = t.split(' ')
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(12)
        pos = rng.randint(0, len(toks))
        if op == 0 and toks:
            k = rng.randrange(len(toks)); w = toks[k]
            toks[k] = rng.choice([w.upper(), w.lower(), w.title(), w.swapcase(), ''.join(c.upper() if rng.random()<.5 else c for c in w)])
        elif op == 1: toks.insert(pos, rng.choice(EMOJI) * rng.randint(1,3))
        elif op == 2: glue_or_insert(toks, pos, rng.choice(EMOT))
        elif op == 3: toks.insert(pos, rng.choice(NEG))
        elif op == 4:
            p = rng.choice(PUNCT)
            if toks and rng.random() < .7:
                k = rng.randrange(len(toks)); toks[k] = toks[k] + p if rng.random()<.6 else p + toks[k]
            else: toks.insert(pos, p)
        elif op == 5 and toks:
            k = rng.randrange(len(toks)); toks[k] = elong(toks[k])
        elif op == 6:
            if toks and rng.random() < .5:
                k = rng.randrange(len(toks)); toks[k] = '#' + toks[k]
            else: toks.insert(pos, rng.choice(URLS))
        elif op == 7: glue_or_insert(toks, pos, rng.choice(ENT))
        elif op == 8: toks.insert(pos, rng.choice(BOOST))
        elif op == 9: toks.insert(pos, rng.choice(WORDS))
        elif op == 10 and toks:
            k = rng.randrange(len(toks)); toks[k] = toks[k].replace("'", "’")
        elif op == 11:
            toks.insert(pos, rng.choice(['\t','\n','\u00a0','\u2003','  ','\u200d','\ufe0f','é','Ñandú','日本語','Ελληνικά','ß','İ','ǅ','x'*40,'a'*33,'ÀÉÎ','ＡＢＣ']))
    s = ' '.join(toks)
    if rng.random() < 0.03: s = s[:rng.randint(0, len(s))]
    return s
out = sys.stdout
i = 0
for t in texts:
    out.write(json.dumps({'id': f'o{i}', 'text': t}, ensure_ascii=rng.random()<.5) + '\n'); i += 1
for n in range(N):
    d = {'id': n, 'text': mutate(rng.choice(texts))}
    l = rng.choice(LANGS)
    if l is not None: d['lang'] = l
    out.write(json.dumps(d, ensure_ascii=rng.random()<.5) + '\n')
