//! Sources and sinks round-trip real documents (the seeds) without loss.

use pipeline_core::{BuildContext, Document, Registry, Source};

fn reg() -> Registry {
    let mut r = Registry::new();
    textpipe_io::register(&mut r);
    r
}

fn ctx(dir: &std::path::Path) -> BuildContext {
    BuildContext {
        base_dir: dir.to_path_buf(),
        stage_name: String::new(),
    }
}

fn table(s: &str) -> toml::Table {
    toml::from_str(s).unwrap()
}

fn drain(mut s: Box<dyn Source>) -> Vec<Result<Document, pipeline_core::SourceError>> {
    std::iter::from_fn(|| s.next_doc()).collect()
}

fn seeds_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds")
}

#[test]
fn files_to_jsonl_and_back_keeps_every_byte() {
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds_dir();
    let src = r
        .source("files")
        .unwrap()
        .build(
            table(&format!("path = {:?}", seeds.display().to_string())),
            &ctx(dir.path()),
        )
        .unwrap();
    let docs: Vec<Document> = drain(src).into_iter().map(Result::unwrap).collect();
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[0].id, "000_c5a5ed7731ad6cab");
    let original = std::fs::read(seeds.join("000_c5a5ed7731ad6cab.txt")).unwrap();
    assert_eq!(docs[0].raw, original);

    let mut sink = r
        .sink("jsonl")
        .unwrap()
        .build(
            table("path = \"out/all.jsonl\"\ninclude_raw = true"),
            &ctx(dir.path()),
        )
        .unwrap();
    for d in &docs {
        sink.write(d).unwrap();
    }
    assert!(
        !dir.path().join("out/all.jsonl").exists(),
        "nothing visible before finish"
    );
    sink.finish().unwrap();

    let back = r
        .source("jsonl")
        .unwrap()
        .build(
            table("path = \"out/all.jsonl\"\ntext_field = \"raw\""),
            &ctx(dir.path()),
        )
        .unwrap();
    let back: Vec<Document> = drain(back).into_iter().map(Result::unwrap).collect();
    assert_eq!(back.len(), 5);
    for (a, b) in docs.iter().zip(&back) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.raw, b.raw);
    }
}

#[test]
fn malformed_jsonl_lines_become_errors_and_the_rest_go_on() {
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"Hallo\",\"url\":\"https://x.de/a\",\"lang\":\"de-AT\",\"section\":\"politik\"}\n\
         {broken\n\
         \n\
         {\"text\":\"ohne id\"}\n\
         {\"id\":\"c\"}\n\
         [1,2]\n",
    )
    .unwrap();
    let src = r
        .source("jsonl")
        .unwrap()
        .build(
            table("path = \"in.jsonl\"\nmeta_fields = [\"section\"]"),
            &ctx(dir.path()),
        )
        .unwrap();
    let items = drain(src);
    assert_eq!(
        items.len(),
        5,
        "blank line skipped, everything else accounted for"
    );
    let a = items[0].as_ref().unwrap();
    assert_eq!(a.raw, b"Hallo");
    assert_eq!(a.declared.url.as_deref(), Some("https://x.de/a"));
    assert_eq!(a.declared.lang.as_deref(), Some("de-AT"));
    assert_eq!(a.meta["section"], "politik");
    let e = items[1].as_ref().unwrap_err();
    assert!(e.id.ends_with("in.jsonl:2"), "{}", e.id);
    assert!(e.message.contains("invalid JSON"));
    assert_eq!(e.raw, b"{broken");
    assert!(
        items[2].as_ref().unwrap().id.ends_with("in.jsonl:4"),
        "fallback id is FILE:LINE"
    );
    assert!(items[3]
        .as_ref()
        .unwrap_err()
        .message
        .contains("no `text` field"));
    assert!(items[4]
        .as_ref()
        .unwrap_err()
        .message
        .contains("not a JSON object"));
}

#[test]
fn txt_dir_writes_one_file_per_document_and_field_selection_filters() {
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    let mut sink = r
        .sink("txt-dir")
        .unwrap()
        .build(table("dir = \"txt\""), &ctx(dir.path()))
        .unwrap();
    let d = Document::from_text("a/b", "Grüße aus Minsk.");
    sink.write(&d).unwrap();
    sink.finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("txt/a_b.txt")).unwrap(),
        "Grüße aus Minsk.\n"
    );

    let mut js = r
        .sink("jsonl")
        .unwrap()
        .build(
            table("path = \"f.jsonl\"\nfields = [\"id\", \"text\"]"),
            &ctx(dir.path()),
        )
        .unwrap();
    js.write(&d).unwrap();
    js.finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("f.jsonl")).unwrap(),
        "{\"id\":\"a/b\",\"text\":\"Grüße aus Minsk.\"}\n"
    );
}

#[test]
fn glob_and_extension_filters_select_files() {
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds_dir();
    let pat = format!("{}/00[12]_*.txt", seeds.display());
    let src = r
        .source("files")
        .unwrap()
        .build(table(&format!("path = {pat:?}")), &ctx(dir.path()))
        .unwrap();
    let ids: Vec<String> = drain(src).into_iter().map(|d| d.unwrap().id).collect();
    assert_eq!(ids, ["001_295cf598dff3781f", "002_8df6c6cd566bb883"]);
    let none = r.source("files").unwrap().build(
        table(&format!(
            "path = {:?}\nextensions = [\"html\"]",
            seeds.display().to_string()
        )),
        &ctx(dir.path()),
    );
    assert_eq!(drain(none.unwrap()).len(), 0);
}

/// Sharded sources: for every world size, the shards hold exactly the unsharded documents
/// with the same ids (line numbers included); JSONL shards in rank order keep the order.
#[test]
fn shards_partition_the_input_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // One big JSONL file (lines of very different lengths, some without an id, a blank line
    // and a malformed one) and two small ones.
    let mut big = String::new();
    for i in 0..300 {
        if i % 37 == 5 {
            big.push('\n');
        } else if i % 53 == 7 {
            big.push_str("{not json\n");
        } else if i % 3 == 0 {
            big.push_str(&format!(
                "{{\"text\": \"{}\"}}\n",
                "Minsk ".repeat(i % 17 + 1)
            ));
        } else {
            big.push_str(&format!(
                "{{\"id\": \"b{i}\", \"text\": \"{}\"}}\n",
                "x".repeat(i * 7 % 400)
            ));
        }
    }
    std::fs::create_dir(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.jsonl"), &big).unwrap();
    std::fs::write(
        dir.path().join("in/b.jsonl"),
        "{\"id\": \"s1\", \"text\": \"eins\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("in/c.jsonl"),
        "{\"id\": \"s2\", \"text\": \"zwei\"}",
    )
    .unwrap();
    let ids = |kind: &str, extra: &str, rank: usize, world: usize| -> Vec<String> {
        let opts = table(&format!(
            "path = \"in\"\nrank = {rank}\nworld_size = {world}\n{extra}"
        ));
        let s = reg()
            .source(kind)
            .unwrap()
            .build(opts, &ctx(dir.path()))
            .unwrap();
        drain(s)
            .into_iter()
            .map(|r| match r {
                Ok(d) => d.id,
                Err(e) => format!("error {}", e.id),
            })
            .collect()
    };
    for kind in ["jsonl", "files"] {
        let all = ids(kind, "", 0, 1);
        assert!(all.len() >= 3, "{kind}: {all:?}");
        for world in [2, 3, 7, 16] {
            let mut joined: Vec<String> =
                (0..world).flat_map(|r| ids(kind, "", r, world)).collect();
            let mut all = all.clone();
            if kind == "files" {
                // Files are dealt round-robin ([rank::world_size]): same set, other order.
                joined.sort();
                all.sort();
            }
            assert_eq!(joined, all, "{kind}, world size {world}");
        }
    }
    // The big file alone spreads over several tasks.
    let counts: Vec<usize> = (0..4).map(|r| ids("jsonl", "", r, 4).len()).collect();
    assert!(counts.iter().filter(|c| **c > 0).count() >= 3, "{counts:?}");
    let e = reg()
        .source("jsonl")
        .unwrap()
        .build(
            table("path = \"in\"\nrank = 4\nworld_size = 4"),
            &ctx(dir.path()),
        )
        .err()
        .unwrap();
    assert!(
        e.message.contains("rank 4 is not below world_size 4"),
        "{}",
        e.message
    );
}

#[test]
fn an_item_over_max_document_bytes_is_refused_unread_and_the_rest_go_on() {
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    // A JSONL line of 300 KB between two small ones, with a 100 KB limit: the long line is
    // read in chunks and thrown away, and the lines after it keep their numbers.
    let long = "x".repeat(300_000);
    std::fs::write(
        dir.path().join("in.jsonl"),
        format!("{{\"id\":\"a\",\"text\":\"kurz\"}}\n{{\"id\":\"b\",\"text\":\"{long}\"}}\n{{\"text\":\"auch kurz\"}}\n"),
    )
    .unwrap();
    let mut src = r
        .source("jsonl")
        .unwrap()
        .build(table("path = \"in.jsonl\""), &ctx(dir.path()))
        .unwrap();
    src.set_max_document_bytes(100_000);
    let items = drain(src);
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().id, "a");
    let e = items[1].as_ref().unwrap_err();
    assert!(e.id.ends_with("in.jsonl:2"), "{}", e.id);
    assert!(
        e.message
            .contains("more than [pipeline] max_document_bytes = 100000"),
        "{}",
        e.message
    );
    assert!(e.raw.is_empty());
    assert!(items[2].as_ref().unwrap().id.ends_with("in.jsonl:3"));
    // A file over the limit is refused from its size, before it is read.
    std::fs::write(dir.path().join("big.txt"), &long).unwrap();
    std::fs::write(dir.path().join("small.txt"), "klein").unwrap();
    let mut src = r
        .source("files")
        .unwrap()
        .build(
            table("path = \".\"\nextensions = [\"txt\"]"),
            &ctx(dir.path()),
        )
        .unwrap();
    src.set_max_document_bytes(100_000);
    let items = drain(src);
    assert_eq!(items.len(), 2);
    let e = items[0].as_ref().unwrap_err();
    assert!(
        e.message.contains("big.txt: document is 300000 bytes"),
        "{}",
        e.message
    );
    assert_eq!(items[1].as_ref().unwrap().raw, b"klein");
}

#[cfg(feature = "parquet")]
#[test]
fn the_seeds_written_to_parquet_read_back_with_the_same_rows_and_types() {
    use arrow_array::{Array, Float32Array, ListArray, StringArray, StructArray, UInt32Array};
    let r = reg();
    let dir = tempfile::tempdir().unwrap();
    let seeds = seeds_dir();
    let src = r
        .source("files")
        .unwrap()
        .build(
            table(&format!("path = {:?}", seeds.display().to_string())),
            &ctx(dir.path()),
        )
        .unwrap();
    let mut docs: Vec<Document> = drain(src).into_iter().map(Result::unwrap).collect();
    // Keywords and entities as the tag stage leaves them, on the first seed.
    docs[0].text = String::from_utf8(docs[0].raw.clone()).unwrap();
    docs[0].lang = Some("de".into());
    docs[0].keywords.push(pipeline_core::Keyword {
        text: "Belarus".into(),
        score: 75.5,
    });
    let at = docs[0].text.find("Wladimir Putin").unwrap();
    docs[0].entities.push(pipeline_core::Entity {
        span: pipeline_core::Span::new(at, at + "Wladimir Putin".len()),
        label: "PER".into(),
        text: "Wladimir Putin".into(),
        group: None,
    });
    docs[0]
        .meta
        .insert("title".into(), "Treffen in Minsk".into());
    // Row groups of at most 1 MB of text: the seeds fit one; small groups are tested below.
    let out = dir.path().join("out.parquet");
    let mut sink = r
        .sink("parquet")
        .unwrap()
        .build(
            table("path = \"out.parquet\"\nrow_group_mb = 1"),
            &ctx(dir.path()),
        )
        .unwrap();
    for d in &docs {
        sink.write(d).unwrap();
    }
    sink.finish().unwrap();
    let f = std::fs::File::open(&out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, docs.len());
    let b = &batches[0];
    assert_eq!(*b.schema(), *textpipe_io::parquet::schema());
    let col = |name: &str| b.column_by_name(name).unwrap().clone();
    let ids = col("id");
    let ids = ids.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(ids.value(0), docs[0].id);
    let texts = col("text");
    let texts = texts.as_any().downcast_ref::<StringArray>().unwrap();
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(texts.value(i), d.text, "{}", d.id);
    }
    let titles = col("title");
    let titles = titles.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(titles.value(0), "Treffen in Minsk");
    assert!(titles.is_null(1), "an empty field is null");
    let kw = col("keywords");
    let kw = kw.as_any().downcast_ref::<ListArray>().unwrap();
    let first = kw.value(0);
    let first = first.as_any().downcast_ref::<StructArray>().unwrap();
    let score = first
        .column(1)
        .as_any()
        .downcast_ref::<Float32Array>()
        .unwrap();
    assert_eq!(score.value(0), 75.5);
    assert_eq!(kw.value(1).len(), 0);
    let en = col("entities");
    let en = en.as_any().downcast_ref::<ListArray>().unwrap();
    let e0 = en.value(0);
    let e0 = e0.as_any().downcast_ref::<StructArray>().unwrap();
    let start = e0.column(2).as_any().downcast_ref::<UInt32Array>().unwrap();
    let end = e0.column(3).as_any().downcast_ref::<UInt32Array>().unwrap();
    let (s, e) = (start.value(0) as usize, end.value(0) as usize);
    assert_eq!(&texts.value(0)[s..e], "Wladimir Putin");
    // The parquet source reads the rows back as documents.
    let src = r
        .source("parquet")
        .unwrap()
        .build(table("path = \"out.parquet\""), &ctx(dir.path()))
        .unwrap();
    let back: Vec<Document> = drain(src).into_iter().map(Result::unwrap).collect();
    assert_eq!(back.len(), docs.len());
    for (b, d) in back.iter().zip(&docs) {
        assert_eq!(b.id, d.id);
        assert_eq!(b.raw, d.text.as_bytes(), "{}", d.id);
    }
    assert_eq!(back[0].declared.lang.as_deref(), Some("de"));
}
