/**
 * Generates the embedded quickstart: small Finnish-like NER data written from templates here
 * (invented sentences; no corpus text) and a tiny BERT (config + WordPiece vocab built from
 * that data) trained from scratch by `configs/quickstart.yaml`.
 *
 *   node --import tsx tools/make-quickstart.ts [--out examples/quickstart] [--seed 7]
 *
 * Writes `data/{train,val,test}.csv` (the reference CSV format, IOB2 tags PER, ORG, LOC, DATE)
 * and `model/{config.json,vocab.txt,tokenizer_config.json,special_tokens_map.json}` (no
 * weights: the trainer initialises a config-only model randomly). Deterministic for a seed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CSV_HEADER, formatCsvRecord } from '@ner-launch/trainer';
import { mulberry32 } from '@ner-launch/common';

type Random = () => number;

interface Labelled {
  tokens: string[];
  tags: string[];
}

// ---- Entity inventories (invented combinations of common Finnish names and places) ----

const FIRST_NAMES = [
  'Matti',
  'Liisa',
  'Juha',
  'Anna',
  'Pekka',
  'Sanna',
  'Mikko',
  'Aino',
  'Jukka',
  'Heidi',
  'Timo',
  'Kaisa',
  'Antti',
  'Elina',
  'Ville',
  'Outi',
  'Janne',
  'Riikka',
  'Tuomas',
  'Hanna',
  'Eero',
  'Marjatta',
  'Kalle',
  'Satu',
  'Lauri',
  'Tiina',
  'Olli',
  'Minna',
];
const SURNAMES = [
  'Virtanen',
  'Korhonen',
  'Mäkinen',
  'Nieminen',
  'Mäkelä',
  'Hämäläinen',
  'Laine',
  'Heikkinen',
  'Koskinen',
  'Järvinen',
  'Lehtonen',
  'Lehtinen',
  'Saarinen',
  'Salminen',
  'Heinonen',
  'Niemi',
  'Heikkilä',
  'Kinnunen',
  'Salonen',
  'Turunen',
  'Laitinen',
  'Rantanen',
  'Karjalainen',
  'Hiltunen',
  'Leppänen',
  'Ahonen',
  'Lindholm',
  'Kallio',
];
/** Names kept out of the training set, so validation and test also hold unseen people. */
const HELD_OUT_FIRST = new Set(['Lauri', 'Tiina', 'Olli', 'Minna']);
const HELD_OUT_SURNAMES = new Set(['Leppänen', 'Ahonen', 'Lindholm', 'Kallio']);

/** Finnish genitive of a surname: -nen → -sen, -i → -en, -e → -een, else + n. */
function surnameGenitive(name: string): string {
  if (name.endsWith('nen')) return `${name.slice(0, -3)}sen`;
  if (name.endsWith('i')) return `${name.slice(0, -1)}en`;
  if (name.endsWith('e')) return `${name}en`;
  return `${name}n`;
}

/** Places: nominative, genitive, inessive/adessive ("in"), illative/allative ("to"), elative/ablative ("from"). */
const PLACES: [string, string, string, string, string][] = [
  ['Helsinki', 'Helsingin', 'Helsingissä', 'Helsinkiin', 'Helsingistä'],
  ['Tampere', 'Tampereen', 'Tampereella', 'Tampereelle', 'Tampereelta'],
  ['Turku', 'Turun', 'Turussa', 'Turkuun', 'Turusta'],
  ['Oulu', 'Oulun', 'Oulussa', 'Ouluun', 'Oulusta'],
  ['Jyväskylä', 'Jyväskylän', 'Jyväskylässä', 'Jyväskylään', 'Jyväskylästä'],
  ['Kuopio', 'Kuopion', 'Kuopiossa', 'Kuopioon', 'Kuopiosta'],
  ['Lahti', 'Lahden', 'Lahdessa', 'Lahteen', 'Lahdesta'],
  ['Vaasa', 'Vaasan', 'Vaasassa', 'Vaasaan', 'Vaasasta'],
  ['Rovaniemi', 'Rovaniemen', 'Rovaniemellä', 'Rovaniemelle', 'Rovaniemeltä'],
  ['Porvoo', 'Porvoon', 'Porvoossa', 'Porvooseen', 'Porvoosta'],
  ['Joensuu', 'Joensuun', 'Joensuussa', 'Joensuuhun', 'Joensuusta'],
  ['Lappeenranta', 'Lappeenrannan', 'Lappeenrannassa', 'Lappeenrantaan', 'Lappeenrannasta'],
  ['Pori', 'Porin', 'Porissa', 'Poriin', 'Porista'],
  ['Kotka', 'Kotkan', 'Kotkassa', 'Kotkaan', 'Kotkasta'],
  ['Hämeenlinna', 'Hämeenlinnan', 'Hämeenlinnassa', 'Hämeenlinnaan', 'Hämeenlinnasta'],
  ['Seinäjoki', 'Seinäjoen', 'Seinäjoella', 'Seinäjoelle', 'Seinäjoelta'],
  ['Mikkeli', 'Mikkelin', 'Mikkelissä', 'Mikkeliin', 'Mikkelistä'],
  ['Kajaani', 'Kajaanin', 'Kajaanissa', 'Kajaaniin', 'Kajaanista'],
  ['Ruotsi', 'Ruotsin', 'Ruotsissa', 'Ruotsiin', 'Ruotsista'],
  ['Viro', 'Viron', 'Virossa', 'Viroon', 'Virosta'],
  ['Norja', 'Norjan', 'Norjassa', 'Norjaan', 'Norjasta'],
  ['Saksa', 'Saksan', 'Saksassa', 'Saksaan', 'Saksasta'],
  ['Lappi', 'Lapin', 'Lapissa', 'Lappiin', 'Lapista'],
  [
    'Pohjois-Karjala',
    'Pohjois-Karjalan',
    'Pohjois-Karjalassa',
    'Pohjois-Karjalaan',
    'Pohjois-Karjalasta',
  ],
  ['Iso-Britannia', 'Iso-Britannian', 'Iso-Britanniassa', 'Iso-Britanniaan', 'Iso-Britanniasta'],
  ['New York', 'New Yorkin', 'New Yorkissa', 'New Yorkiin', 'New Yorkista'],
  ['Hong Kong', 'Hong Kongin', 'Hong Kongissa', 'Hong Kongiin', 'Hong Kongista'],
];
const PLACE_CASE = { nom: 0, gen: 1, in: 2, to: 3, from: 4 } as const;

/** Organisations: nominative, genitive, "at" (adessive/inessive). Multi-word ones are B-/I-. */
const ORGS: [string, string, string][] = [
  ['Nokia', 'Nokian', 'Nokialla'],
  ['Kesko', 'Keskon', 'Keskolla'],
  ['Yle', 'Ylen', 'Ylellä'],
  ['Finnair', 'Finnairin', 'Finnairilla'],
  ['Helsingin yliopisto', 'Helsingin yliopiston', 'Helsingin yliopistossa'],
  ['Turun yliopisto', 'Turun yliopiston', 'Turun yliopistossa'],
  ['Suomen Pankki', 'Suomen Pankin', 'Suomen Pankissa'],
  ['Kela', 'Kelan', 'Kelassa'],
  ['Valio', 'Valion', 'Valiolla'],
  ['Fazer', 'Fazerin', 'Fazerilla'],
  ['Marimekko', 'Marimekon', 'Marimekolla'],
  ['Stora Enso', 'Stora Enson', 'Stora Ensolla'],
  ['Metsähallitus', 'Metsähallituksen', 'Metsähallituksessa'],
  ['Posti', 'Postin', 'Postilla'],
  ['Alko', 'Alkon', 'Alkossa'],
  ['Wärtsilä', 'Wärtsilän', 'Wärtsilällä'],
  ['Elisa', 'Elisan', 'Elisalla'],
  ['Tilastokeskus', 'Tilastokeskuksen', 'Tilastokeskuksessa'],
  ['Aalto-yliopisto', 'Aalto-yliopiston', 'Aalto-yliopistossa'],
  ['Eduskunta', 'Eduskunnan', 'Eduskunnassa'],
  ['Ulkoministeriö', 'Ulkoministeriön', 'Ulkoministeriössä'],
  ['Tampereen kaupunki', 'Tampereen kaupungin', 'Tampereen kaupungilla'],
];
const ORG_CASE = { nom: 0, gen: 1, at: 2 } as const;

const MONTHS_PARTITIVE = [
  'tammikuuta',
  'helmikuuta',
  'maaliskuuta',
  'huhtikuuta',
  'toukokuuta',
  'kesäkuuta',
  'heinäkuuta',
  'elokuuta',
  'syyskuuta',
  'lokakuuta',
  'marraskuuta',
  'joulukuuta',
];
const MONTHS_INESSIVE = MONTHS_PARTITIVE.map((m) => `${m.slice(0, -2)}ssa`);
const WEEKDAYS = ['maanantaina', 'tiistaina', 'keskiviikkona', 'torstaina', 'perjantaina'];

// ---- Templates: words are O; {TYPE.case} slots expand to tagged entity words ----

const TEMPLATES = [
  '{PER} muutti {LOC.to} {DATE} .',
  '{ORG} avasi uuden toimipisteen {LOC.in} {DATE} .',
  '{PER.gen} mukaan {ORG.gen} tulos parani selvästi .',
  'Kokous pidettiin {LOC.in} {DATE} .',
  '{PER} työskentelee {ORG.at} .',
  '{ORG} ilmoitti {DATE} , että se palkkaa sata uutta työntekijää .',
  'Toimitusjohtaja {PER} kertoi asiasta {ORG.gen} tiedotteessa .',
  '{PER} ja {PER} matkustivat {LOC.from} {LOC.to} .',
  'Juna {LOC.from} {LOC.to} oli myöhässä .',
  '{LOC.in} satoi eilen lunta .',
  '{ORG} on toiminut {LOC.in} jo vuosikymmeniä .',
  'Professori {PER} aloittaa työnsä {ORG.at} {DATE} .',
  'Tapahtuma järjestetään {LOC.in} {DATE} .',
  '{PER.gen} uusi kirja julkaistiin {DATE} .',
  '{ORG.gen} pääkonttori sijaitsee {LOC.in} .',
  'Haastattelussa {PER} kiitti {ORG.gen} henkilökuntaa .',
  'Hän syntyi {LOC.in} {DATE} .',
  '{PER} valittiin {ORG.gen} hallitukseen .',
  'Sopimus {ORG.gen} ja {ORG.gen} välillä solmittiin {DATE} .',
  'Tiet ovat liukkaita {LOC.in} ja sen ympäristössä .',
  'Sää on ollut lämmin koko viikon .',
  'Uusi silta valmistuu ensi vuonna .',
  'Kunnanvaltuusto käsitteli talousarviota pitkään .',
  '{PER} voitti kilpailun {LOC.in} .',
  '{LOC.gen} väkiluku kasvaa nopeasti .',
  '{ORG} kertoo myyntinsä kasvaneen {DATE} .',
  'Lento {LOC.to} peruttiin huonon sään vuoksi .',
  '{PER.gen} mielestä {LOC.gen} keskusta tarvitsee lisää pysäköintitilaa .',
  'Ministeri {PER} vieraili {LOC.in} ja tapasi {ORG.gen} edustajia .',
  'Näyttely avautuu {DATE} ja jatkuu kesän loppuun .',
];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function tagged(words: string[], type: string): Labelled {
  return { tokens: words, tags: words.map((_, i) => `${i === 0 ? 'B' : 'I'}-${type}`) };
}

function person(random: Random, form: string, heldOut: boolean): Labelled {
  const allowed = (name: string, held: Set<string>): boolean => heldOut || !held.has(name);
  const first = pick(
    random,
    FIRST_NAMES.filter((n) => allowed(n, HELD_OUT_FIRST)),
  );
  const last = pick(
    random,
    SURNAMES.filter((n) => allowed(n, HELD_OUT_SURNAMES)),
  );
  const surname = form === 'gen' ? surnameGenitive(last) : last;
  // Mostly full names; sometimes the surname alone, as news text refers back to people.
  return tagged(random() < 0.75 ? [first, surname] : [surname], 'PER');
}

function date(random: Random): Labelled {
  const year = String(1990 + Math.floor(random() * 35));
  const r = random();
  if (r < 0.3) return { tokens: ['vuonna', year], tags: ['O', 'B-DATE'] };
  if (r < 0.6)
    return tagged(
      [`${1 + Math.floor(random() * 28)}.`, pick(random, MONTHS_PARTITIVE), year],
      'DATE',
    );
  if (r < 0.8) return tagged([pick(random, MONTHS_INESSIVE), year], 'DATE');
  if (r < 0.9) return tagged([pick(random, MONTHS_INESSIVE)], 'DATE');
  return tagged([pick(random, WEEKDAYS)], 'DATE');
}

function fill(random: Random, slot: string, heldOut: boolean): Labelled {
  const [type, form = 'nom'] = slot.split('.');
  switch (type) {
    case 'PER':
      return person(random, form, heldOut);
    case 'LOC': {
      const place = pick(random, PLACES)[PLACE_CASE[form as keyof typeof PLACE_CASE]];
      return tagged(place.split(' '), 'LOC');
    }
    case 'ORG': {
      const org = pick(random, ORGS)[ORG_CASE[form as keyof typeof ORG_CASE]];
      return tagged(org.split(' '), 'ORG');
    }
    case 'DATE':
      return date(random);
    default:
      throw new Error(`template slot {${slot}}: unknown entity type`);
  }
}

/** One sentence from a random template; `heldOut` allows the names kept out of training. */
function makeSentence(random: Random, heldOut: boolean): Labelled {
  const template = pick(random, TEMPLATES);
  const out: Labelled = { tokens: [], tags: [] };
  for (const word of template.split(' ')) {
    const slot = /^\{(.+)\}$/.exec(word);
    const part = slot ? fill(random, slot[1], heldOut) : { tokens: [word], tags: ['O'] };
    out.tokens.push(...part.tokens);
    out.tags.push(...part.tags);
  }
  // Sentences start with a capital letter.
  out.tokens[0] = out.tokens[0][0].toUpperCase() + out.tokens[0].slice(1);
  return out;
}

// ---- WordPiece vocabulary from the training words ----

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Splits a word as BERT's BasicTokenizer would for this data: punctuation apart. */
function basicPieces(word: string): string[] {
  return word.split(/([\p{P}\p{S}])/u).filter((p) => p.length > 0);
}

/**
 * A WordPiece vocab: specials, every character (bare and `##`), words seen at least twice,
 * and the most frequent word starts (3-6 chars) and `##` endings (2-5 chars), so unseen
 * inflections split into a few pieces rather than into characters.
 */
function buildVocab(sentences: readonly Labelled[]): string[] {
  const words = new Map<string, number>();
  for (const s of sentences)
    for (const token of s.tokens)
      for (const piece of basicPieces(token)) words.set(piece, (words.get(piece) ?? 0) + 1);
  const chars = new Set<string>();
  const starts = new Map<string, number>();
  const ends = new Map<string, number>();
  for (const [word, count] of words) {
    const cps = [...word];
    cps.forEach((c) => chars.add(c));
    for (let n = 3; n <= 6 && n < cps.length; n++) {
      const start = cps.slice(0, n).join('');
      starts.set(start, (starts.get(start) ?? 0) + count);
    }
    for (let n = 2; n <= 5 && n < cps.length; n++) {
      const end = cps.slice(cps.length - n).join('');
      ends.set(end, (ends.get(end) ?? 0) + count);
    }
  }
  const byCount = (m: Map<string, number>, limit: number): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, limit)
      .map(([k]) => k);
  const sortedChars = [...chars].sort();
  const vocab = [
    ...SPECIALS,
    ...sortedChars,
    ...sortedChars.map((c) => `##${c}`),
    ...byCount(new Map([...words].filter(([, c]) => c >= 2)), 100_000),
    ...byCount(starts, 300),
    ...byCount(ends, 300).map((e) => `##${e}`),
  ];
  return [...new Set(vocab)];
}

// ---- Output ----

function bertConfig(vocabSize: number): Record<string, unknown> {
  return {
    architectures: ['BertForTokenClassification'],
    model_type: 'bert',
    vocab_size: vocabSize,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 256,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 128,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    classifier_dropout: null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'examples/quickstart' },
      seed: { type: 'string', default: '7' },
      train: { type: 'string', default: '600' },
      val: { type: 'string', default: '100' },
      test: { type: 'string', default: '100' },
    },
  });
  const random = mulberry32(Number(values.seed));
  const make = (n: number, heldOut: boolean): Labelled[] =>
    Array.from({ length: n }, () => makeSentence(random, heldOut));
  const splits = {
    train: make(Number(values.train), false),
    val: make(Number(values.val), true),
    test: make(Number(values.test), true),
  };
  const dataDir = join(values.out, 'data');
  const modelDir = join(values.out, 'model');
  await mkdir(dataDir, { recursive: true });
  await mkdir(modelDir, { recursive: true });
  for (const [name, sentences] of Object.entries(splits))
    await writeFile(
      join(dataDir, `${name}.csv`),
      CSV_HEADER + sentences.map(formatCsvRecord).join(''),
    );
  const vocab = buildVocab(splits.train);
  await writeFile(join(modelDir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  await writeFile(
    join(modelDir, 'config.json'),
    `${JSON.stringify(bertConfig(vocab.length), null, 2)}\n`,
  );
  await writeFile(
    join(modelDir, 'tokenizer_config.json'),
    `${JSON.stringify(
      {
        do_lower_case: false,
        strip_accents: null,
        tokenize_chinese_chars: true,
        model_max_length: 128,
        tokenizer_class: 'BertTokenizer',
        unk_token: '[UNK]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        cls_token: '[CLS]',
        mask_token: '[MASK]',
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(
    join(modelDir, 'special_tokens_map.json'),
    `${JSON.stringify(
      {
        unk_token: '[UNK]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        cls_token: '[CLS]',
        mask_token: '[MASK]',
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `wrote ${dataDir} (${splits.train.length}/${splits.val.length}/${splits.test.length} sentences) and ${modelDir} (vocab ${vocab.length})\n`,
  );
}

await main();
