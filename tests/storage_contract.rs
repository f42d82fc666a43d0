use dialbook::storage::SeaStorage;
#[test]
fn t() {
    let _ = std::mem::size_of::<SeaStorage>();
}
