//! The real node's own answers, replayed: `tests/data/cascoind-regtest-traffic.jsonl` holds 59
//! JSON-RPC exchanges between casl2's client and a real Cascoin node (Casraw/Cascoin, branch
//! `cvm`, regtest, `-l2=1`; see `tests/data/cascoind-regtest-traffic.md`). The replaying node
//! answers a request whose method and parameters equal a recorded one with the recorded HTTP
//! status and body (its `id` set to the request's); several recordings of one request are
//! answered in order, the last one again after that. A request the recording lacks is
//! answered with an error that names it, so a test never passes on an invented answer.

use super::*;
use std::collections::HashMap;

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub params: Vec<Value>,
    pub status: u16,
    /// The node's body (`Value::Null` for the empty body of a 401).
    pub response: Value,
}

/// Every exchange of the recording, in order.
pub fn recording() -> Vec<Exchange> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cascoind-regtest-traffic.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Exchange {
                method: v["request"]["method"].as_str().unwrap().to_string(),
                params: v["request"]["params"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                status: v["status"].as_u64().unwrap() as u16,
                response: v["response"].clone(),
            }
        })
        .collect()
}

/// JSON equality with numbers compared by value (`1000.0` = `1000.0000000`: the client sends
/// amounts with seven decimals, the recording has what the recorder printed).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A fake node that replays the recording (the 401 exchanges aside: they answer a wrong
/// password, which the replaying node does not check).
pub async fn start_replay() -> Node {
    let table: Vec<Exchange> = recording()
        .into_iter()
        .filter(|e| e.status != 401)
        .collect();
    let cursor: Mutex<HashMap<usize, usize>> = Mutex::new(HashMap::new());
    start(None, move |m, p| {
        let hits: Vec<usize> = (0..table.len())
            .filter(|&i| {
                table[i].method == m
                    && same(
                        &Value::Array(table[i].params.clone()),
                        &Value::Array(p.to_vec()),
                    )
            })
            .collect();
        let Some(&first) = hits.first() else {
            return Reply::Raw(
                599,
                format!("not in the recording: {m} {}", Value::Array(p.to_vec())),
            );
        };
        let mut c = cursor.lock().unwrap();
        let n = c.entry(first).or_insert(0);
        let e = &table[hits[(*n).min(hits.len() - 1)]];
        *n += 1;
        Reply::Recorded(e.status, e.response.clone())
    })
    .await
}
