use std::time::Instant;
use nexudus_timepasses::{stand_in::StandIn, Client, Credentials, Pacing, types::CoworkerTimePass};
#[tokio::main]
async fn main() {
    let s = StandIn::builder().coworker_time_passes(10).start().await.unwrap();
    let c = Client::builder().base_url(s.base_url()).credentials(Credentials::basic(s.email(), s.password())).pacing(Pacing::unlimited()).build().unwrap();
    let c2 = Client::builder().base_url(s.base_url()).credentials(Credentials::basic(s.email(), s.password())).pacing(Pacing::unlimited()).http_client(reqwest::Client::new()).build().unwrap();
    let http = reqwest::Client::new();
    let id = c.coworker_time_passes().list(|q| q.size(1u32)).await.unwrap().records[0].id;
    let gurl = format!("{}/api/billing/coworkertimepasses/{id}", s.base_url());
    for round in 0..3 {
        let n = 3000;
        let (mut a, mut b, mut d) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let t = Instant::now(); c.coworker_time_passes().get(id).await.unwrap(); a.push(t.elapsed());
            let t = Instant::now(); c2.coworker_time_passes().get(id).await.unwrap(); b.push(t.elapsed());
            let t = Instant::now(); let body = http.get(&gurl).basic_auth(s.email(), Some(s.password())).send().await.unwrap().bytes().await.unwrap(); let _: CoworkerTimePass = serde_json::from_slice(&body).unwrap(); d.push(t.elapsed());
        }
        for v in [&mut a, &mut b, &mut d] { v.sort(); }
        println!("round {round}: crate {:?} crate-no-timeout {:?} raw {:?}", a[n/2], b[n/2], d[n/2]);
    }
}
