//! Throughput of the ingest hot path, stage by stage, on 32 MiB of leak-like data
//! (half incompressible like JPEG and PDF streams, half text like CSV and HTML).
//!
//!   cargo bench --bench pipeline

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use custody::chunking::{ChunkParams, Cutter};
use custody::id::ChunkId;
use custody::ops::demo::pseudo_random;

fn sample() -> Vec<u8> {
    let mut data = pseudo_random("bench binary", 16 << 20);
    let words = [
        "officer",
        "report",
        "county",
        "case",
        "2020-06-19",
        "alert",
        "\n",
        ",",
    ];
    let r = pseudo_random("bench text", 4 << 20);
    let mut text = Vec::with_capacity(16 << 20);
    let mut i = 0;
    while text.len() < 16 << 20 {
        text.extend_from_slice(words[r[i % r.len()] as usize % words.len()].as_bytes());
        text.push(b' ');
        i += 1;
    }
    data.extend_from_slice(&text[..16 << 20]);
    data
}

fn stages(c: &mut Criterion) {
    let data = sample();
    let cutter = Cutter::new(ChunkParams::default());
    let ranges = cutter.ranges(&data);
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("fastcdc", |b| b.iter(|| cutter.ranges(&data).len()));
    g.bench_function("blake3 per chunk", |b| {
        b.iter(|| {
            ranges
                .iter()
                .map(|r| ChunkId::of(&data[r.clone()]).0[0] as u64)
                .sum::<u64>()
        })
    });
    for level in [1, 3] {
        g.bench_function(format!("zstd {level} per chunk"), |b| {
            let mut z = zstd::bulk::Compressor::new(level).unwrap();
            b.iter(|| {
                ranges
                    .iter()
                    .map(|r| z.compress(&data[r.clone()]).unwrap().len())
                    .sum::<usize>()
            })
        });
    }
    g.bench_function("chunk+hash+compress (1 core)", |b| {
        let mut z = zstd::bulk::Compressor::new(1).unwrap();
        b.iter(|| {
            cutter
                .ranges(&data)
                .iter()
                .map(|r| {
                    let d = &data[r.clone()];
                    let _ = ChunkId::of(d);
                    z.compress(d).unwrap().len()
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
