//! The encryption path: seal and open of a value with the real keyring (data key look-up, random
//! nonce, associated data, blob framing) next to the bare XChaCha20-Poly1305 call on the same
//! sizes, so the cost of our wrapping shows as a ratio.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keynest_actors::crypto::{Keyring, MasterKey, ValueSlot};
use keynest_actors::model::{EnvId, OrgId, VarId};
use std::hint::black_box;

fn seal_open(c: &mut Criterion) {
    let ring = Keyring::new(&MasterKey::generate().expect("key"));
    let (_, dek) = ring.new_data_key(OrgId(1), 1).expect("dek");
    let slot = ValueSlot {
        org: OrgId(1),
        env: EnvId(2),
        var: VarId(3),
        version: 1,
    };
    let bare = XChaCha20Poly1305::new(Key::from_slice(&[7u8; 32]));
    let nonce = [9u8; 24];
    let aad = [1u8; 40];
    let mut group = c.benchmark_group("value");
    for size in [64usize, 1024, 64 * 1024] {
        let value = "v".repeat(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal/keynest", size), &value, |b, v| {
            b.iter(|| dek.seal(slot, black_box(v)).expect("seal"))
        });
        group.bench_with_input(BenchmarkId::new("seal/bare_aead", size), &value, |b, v| {
            b.iter(|| {
                let p = Payload {
                    msg: black_box(v.as_bytes()),
                    aad: &aad,
                };
                bare.encrypt(XNonce::from_slice(&nonce), p)
                    .expect("encrypt")
            })
        });
        let blob = dek.seal(slot, &value).expect("seal");
        group.bench_with_input(BenchmarkId::new("open/keynest", size), &blob, |b, blob| {
            b.iter(|| dek.open(slot, black_box(blob)).expect("open"))
        });
        let ct = bare
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("encrypt");
        group.bench_with_input(BenchmarkId::new("open/bare_aead", size), &ct, |b, ct| {
            b.iter(|| {
                let p = Payload {
                    msg: black_box(ct.as_slice()),
                    aad: &aad,
                };
                bare.decrypt(XNonce::from_slice(&nonce), p)
                    .expect("decrypt")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
