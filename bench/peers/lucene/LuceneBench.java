// Lucene 4.10 peer of `cascade index` and `cascade run`, for bench/compare.sh.
//
//   java -cp CLASSPATH LuceneBench index CORPUS INDEX_DIR THREADS [positions|freqs]
//   java -cp CLASSPATH LuceneBench search INDEX_DIR QUERIES K
//
// CORPUS is a JSONL file (.jsonl or .jsonl.gz) or a BEIR folder of
// {"_id" or "id", "title", "text"}; QUERIES a queries.jsonl of {"_id","text"}.
// Analysis is Anserini's DefaultEnglishAnalyzer, which Cascade's default
// imitates: StandardTokenizer, LowerCaseFilter, StopFilter with Lucene's 33
// English stop words, PorterStemFilter. One field "contents" = title + " " +
// text, indexed with positions ("positions") or with frequencies only
// ("freqs"); title and text are stored (Cascade stores them too), as is the id.
// Scoring is BM25Similarity(k1 = 0.9, b = 0.4). Indexing uses one IndexWriter
// shared by THREADS threads (a reader thread feeds them batches of lines; the
// workers parse the JSON), a 256 MiB RAM buffer as Cascade's default, and the
// default merge policy; the time includes reading the corpus and the final
// commit. A query is the analysed terms as SHOULD TermQuery clauses (a
// repeated word twice, as Cascade weighs it by its count); Lucene 4.10 scores
// disjunctions exhaustively (no block-max WAND, which came with Lucene 8).
// Search runs on one thread: a warm-up pass over all queries, then a timed
// pass; each query's time includes reading the stored id of every hit
// (rank_* figures: the same without that read).
// Prints one JSON object per phase on stdout.
import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.LowerCaseFilter;
import org.apache.lucene.analysis.core.StopAnalyzer;
import org.apache.lucene.analysis.core.StopFilter;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Version;

public final class LuceneBench {
  private static final Version VERSION = Version.LUCENE_4_10_0;
  private static final int BATCH = 256;
  private static final List<String> END = new ArrayList<>();

  // Anserini's DefaultEnglishAnalyzer (no possessive filter, unlike
  // Lucene's EnglishAnalyzer).
  static Analyzer analyzer() {
    return new Analyzer() {
      @Override
      protected TokenStreamComponents createComponents(String field, Reader reader) {
        Tokenizer source = new StandardTokenizer(VERSION, reader);
        TokenStream sink = new LowerCaseFilter(VERSION, source);
        sink = new StopFilter(VERSION, sink, StopAnalyzer.ENGLISH_STOP_WORDS_SET);
        sink = new PorterStemFilter(sink);
        return new TokenStreamComponents(source, sink);
      }
    };
  }

  // --- A minimal JSON reader for flat objects: string values are decoded,
  // numbers kept as text, anything else skipped.
  static Map<String, String> parseObject(String s) {
    Map<String, String> out = new HashMap<>();
    int[] pos = {skipWs(s, 0)};
    if (pos[0] >= s.length() || s.charAt(pos[0]) != '{') return null;
    pos[0]++;
    while (true) {
      pos[0] = skipWs(s, pos[0]);
      if (pos[0] >= s.length()) return null;
      char c = s.charAt(pos[0]);
      if (c == '}') return out;
      if (c == ',') { pos[0]++; continue; }
      if (c != '"') return null;
      String key = parseString(s, pos);
      pos[0] = skipWs(s, pos[0]);
      if (pos[0] >= s.length() || s.charAt(pos[0]) != ':') return null;
      pos[0] = skipWs(s, pos[0] + 1);
      if (pos[0] >= s.length()) return null;
      c = s.charAt(pos[0]);
      if (c == '"') {
        out.put(key, parseString(s, pos));
      } else if (c == '{' || c == '[') {
        skipNested(s, pos);
      } else {
        int start = pos[0];
        while (pos[0] < s.length() && ",}] \t".indexOf(s.charAt(pos[0])) < 0) pos[0]++;
        String token = s.substring(start, pos[0]);
        if (!token.equals("null") && !token.equals("true") && !token.equals("false")) {
          out.put(key, token);
        }
      }
    }
  }

  static int skipWs(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    return i;
  }

  static String parseString(String s, int[] pos) {
    StringBuilder b = new StringBuilder();
    int i = pos[0] + 1;
    while (i < s.length()) {
      char c = s.charAt(i++);
      if (c == '"') break;
      if (c != '\\') { b.append(c); continue; }
      char e = s.charAt(i++);
      switch (e) {
        case 'n': b.append('\n'); break;
        case 't': b.append('\t'); break;
        case 'r': b.append('\r'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
        default: b.append(e);
      }
    }
    pos[0] = i;
    return b.toString();
  }

  static void skipNested(String s, int[] pos) {
    int depth = 0;
    int i = pos[0];
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '"') {
        int[] p = {i};
        parseString(s, p);
        i = p[0];
        continue;
      }
      if (c == '{' || c == '[') depth++;
      if (c == '}' || c == ']') depth--;
      i++;
      if (depth == 0) break;
    }
    pos[0] = i;
  }

  static BufferedReader open(String path) throws IOException {
    File f = new File(path);
    if (f.isDirectory()) {
      File plain = new File(f, "corpus.jsonl");
      f = plain.exists() ? plain : new File(f, "corpus.jsonl.gz");
    }
    InputStream in = new FileInputStream(f);
    if (f.getName().endsWith(".gz")) in = new GZIPInputStream(in, 1 << 16);
    return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 20);
  }

  static double peakRssMib() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return 0;
  }

  static long sizeOf(File f) {
    if (f.isFile()) return f.length();
    long total = 0;
    File[] children = f.listFiles();
    if (children != null) for (File c : children) total += sizeOf(c);
    return total;
  }

  static void index(String corpus, String indexDir, int threads, boolean positions)
      throws Exception {
    final long start = System.nanoTime();
    final FieldType contents = new FieldType();
    contents.setIndexed(true);
    contents.setTokenized(true);
    contents.setStored(false);
    contents.setIndexOptions(positions
        ? FieldInfo.IndexOptions.DOCS_AND_FREQS_AND_POSITIONS
        : FieldInfo.IndexOptions.DOCS_AND_FREQS);
    contents.freeze();
    Analyzer analyzer = analyzer();
    IndexWriterConfig config = new IndexWriterConfig(VERSION, analyzer);
    config.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    config.setSimilarity(new BM25Similarity(0.9f, 0.4f));
    config.setRAMBufferSizeMB(256);
    config.setMaxThreadStates(Math.max(threads, 1));
    Directory dir = FSDirectory.open(new File(indexDir));
    final IndexWriter writer = new IndexWriter(dir, config);
    final BlockingQueue<List<String>> queue = new ArrayBlockingQueue<>(4 * threads + 4);
    final AtomicLong added = new AtomicLong(), skipped = new AtomicLong();
    final Exception[] failure = {null};
    Thread[] workers = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      workers[t] = new Thread(() -> {
        try {
          while (true) {
            List<String> batch = queue.take();
            if (batch == END) return;
            for (String line : batch) {
              Map<String, String> o = parseObject(line);
              String id = o == null ? null : o.containsKey("_id") ? o.get("_id") : o.get("id");
              String title = o == null ? null : o.get("title");
              String text = o == null ? null : o.get("text");
              if (title == null) title = "";
              if (text == null) text = "";
              if (id == null || id.isEmpty() || (title.isEmpty() && text.isEmpty())) {
                skipped.incrementAndGet();
                continue;
              }
              Document doc = new Document();
              doc.add(new StringField("id", id, Field.Store.YES));
              doc.add(new StoredField("title", title));
              doc.add(new StoredField("text", text));
              doc.add(new Field("contents", title + " " + text, contents));
              writer.addDocument(doc);
              added.incrementAndGet();
            }
          }
        } catch (Exception e) {
          synchronized (failure) { failure[0] = e; }
        }
      });
      workers[t].start();
    }
    try (BufferedReader in = open(corpus)) {
      List<String> batch = new ArrayList<>(BATCH);
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isEmpty()) continue;
        batch.add(line);
        if (batch.size() == BATCH) {
          queue.put(batch);
          batch = new ArrayList<>(BATCH);
        }
      }
      if (!batch.isEmpty()) queue.put(batch);
    }
    for (int t = 0; t < threads; t++) queue.put(END);
    for (Thread w : workers) w.join();
    if (failure[0] != null) throw failure[0];
    writer.commit();
    writer.close();
    final double seconds = (System.nanoTime() - start) / 1e9;
    int segments;
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      segments = reader.leaves().size();
    }
    dir.close();
    System.out.printf(
        "{\"engine\":\"lucene\",\"phase\":\"index\",\"positions\":%s,\"threads\":%d,"
            + "\"docs\":%d,\"skipped\":%d,\"seconds\":%.3f,\"docs_per_s\":%.1f,"
            + "\"segments\":%d,\"index_mib\":%.2f,\"peak_rss_mib\":%.1f}%n",
        positions, threads, added.get(), skipped.get(), seconds, added.get() / seconds,
        segments, sizeOf(new File(indexDir)) / 1048576.0, peakRssMib());
  }

  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    rank = Math.max(1, Math.min(sorted.length, rank));
    return sorted[rank - 1];
  }

  static BooleanQuery toQuery(Analyzer analyzer, String text) throws IOException {
    BooleanQuery query = new BooleanQuery();
    try (TokenStream ts = analyzer.tokenStream("contents", text)) {
      CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
      ts.reset();
      while (ts.incrementToken()) {
        query.add(new TermQuery(new Term("contents", term.toString())),
            BooleanClause.Occur.SHOULD);
      }
      ts.end();
    }
    return query;
  }

  static void search(String indexDir, String queriesPath, int k) throws Exception {
    List<String> texts = new ArrayList<>();
    try (BufferedReader in = open(queriesPath)) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.trim().isEmpty()) continue;
        Map<String, String> o = parseObject(line);
        if (o == null || o.get("text") == null) throw new IOException("bad query line: " + line);
        texts.add(o.get("text"));
      }
    }
    Analyzer analyzer = analyzer();
    Directory dir = FSDirectory.open(new File(indexDir));
    DirectoryReader reader = DirectoryReader.open(dir);
    IndexSearcher searcher = new IndexSearcher(reader);
    searcher.setSimilarity(new BM25Similarity(0.9f, 0.4f));
    Set<String> idField = new HashSet<>(Collections.singletonList("id"));
    double[] latencies = new double[texts.size()];
    double[] ranking = new double[texts.size()];  // without reading the hits' ids
    long hits = 0;
    double total = 0;
    for (int pass = 0; pass < 2; pass++) {  // pass 0 warms up
      hits = 0;
      final long passStart = System.nanoTime();
      for (int i = 0; i < texts.size(); i++) {
        final long t0 = System.nanoTime();
        BooleanQuery query = toQuery(analyzer, texts.get(i));
        TopDocs top = searcher.search(query, k);
        ranking[i] = (System.nanoTime() - t0) / 1e6;
        for (ScoreDoc sd : top.scoreDocs) {
          if (reader.document(sd.doc, idField).get("id") != null) hits++;
        }
        latencies[i] = (System.nanoTime() - t0) / 1e6;
      }
      total = (System.nanoTime() - passStart) / 1e9;
    }
    double mean = 0;
    for (double l : latencies) mean += l;
    mean /= Math.max(1, latencies.length);
    double[] sorted = latencies.clone();
    Arrays.sort(sorted);
    Arrays.sort(ranking);
    System.out.printf(
        "{\"engine\":\"lucene\",\"phase\":\"search\",\"k\":%d,\"queries\":%d,\"hits\":%d,"
            + "\"qps\":%.1f,\"mean_ms\":%.4f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
            + "\"rank_p50_ms\":%.4f,\"rank_p99_ms\":%.4f,\"peak_rss_mib\":%.1f}%n",
        k, texts.size(), hits, texts.size() / total, mean, percentile(sorted, 50),
        percentile(sorted, 99), percentile(ranking, 50), percentile(ranking, 99),
        peakRssMib());
    reader.close();
    dir.close();
  }

  public static void main(String[] args) throws Exception {
    if (args.length >= 4 && args[0].equals("index")) {
      boolean positions = args.length < 5 || !args[4].equals("freqs");
      index(args[1], args[2], Integer.parseInt(args[3]), positions);
    } else if (args.length == 4 && args[0].equals("search")) {
      search(args[1], args[2], Integer.parseInt(args[3]));
    } else {
      System.err.println("usage: LuceneBench index CORPUS INDEX_DIR THREADS [positions|freqs]\n"
          + "       LuceneBench search INDEX_DIR QUERIES K");
      System.exit(2);
    }
  }
}
