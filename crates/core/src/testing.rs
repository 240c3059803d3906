//! Test support: real WebAssembly components built from a WIT world (a dummy core module wrapped
//! by wit-component), as publishers send them. Enabled by the `test-support` feature.

/// A component whose imports and exports are those of the (only) world in `wit`.
pub fn component(wit: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("test.wit", wit).expect("valid WIT");
    let world = resolve.select_world(&[pkg], None).expect("one world");
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata embeds");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("a valid module")
        .validate(true)
        .encode()
        .expect("the component encodes")
}
