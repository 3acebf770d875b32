use std::time::Duration;

use super::*;

const ALPHA: &[PostOption] = &[
    PostOption::flag("branded-content", "Paid partnership."),
    PostOption::duration("cover-at", "Cover frame."),
];
const BETA: &[PostOption] = &[
    PostOption::text("category", "ID", "Category id."),
    PostOption::path("thumbnail", "IMAGE", "Thumbnail."),
    PostOption::flag("made-for-kids", "Made for kids."),
];
const SCHEMA: &Schema<'static> = &[("alpha", ALPHA), ("beta", BETA)];

fn parse(text: &str) -> Result<MetadataFile> {
    MetadataFile::parse(text, Path::new("/clips/reel.keryx.yaml"), SCHEMA)
}

#[test]
fn shared_fields_and_platform_sections() {
    let file = parse(
        "# comment\ntitle: Sunset timelapse\ndescription: Shot on the ridge.\n\
         tags: [timelapse, sunset]\nalpha: { privacy: SELF_ONLY, ai_generated: false, branded_content: true }\n\
         beta: { privacy: unlisted, category: \"19\", title: Other }\n",
    )
    .unwrap();
    assert_eq!(file.shared.title.as_deref(), Some("Sunset timelapse"));
    let alpha = file.for_platform("alpha");
    assert_eq!(alpha.title.as_deref(), Some("Sunset timelapse"));
    assert_eq!(alpha.tags, vec!["timelapse", "sunset"]);
    assert_eq!(alpha.privacy.as_deref(), Some("SELF_ONLY"));
    assert_eq!(alpha.ai_generated, Some(false));
    assert_eq!(alpha.flag("branded-content"), Some(true));
    assert_eq!(alpha.text("category"), None);
    let beta = file.for_platform("beta");
    assert_eq!(beta.title.as_deref(), Some("Other"));
    assert_eq!(beta.description.as_deref(), Some("Shot on the ridge."));
    assert_eq!(beta.text("category"), Some("19"));
    // A platform with no section gets the shared fields.
    assert_eq!(
        MetadataFile::parse("title: T\n", Path::new("m.yaml"), &[("gamma", &[])])
            .unwrap()
            .for_platform("gamma")
            .title
            .as_deref(),
        Some("T")
    );
}

#[test]
fn options_are_typed_and_top_level_ones_apply_to_their_platforms() {
    let file = parse(
        "made_for_kids: true\ncover_at: 2.5s\nalpha: { cover_at: 3 }\nbeta: { made_for_kids: false }\n",
    )
    .unwrap();
    assert_eq!(file.shared.flag("made-for-kids"), Some(true));
    assert_eq!(
        file.for_platform("alpha").duration("cover-at"),
        Some(Duration::from_secs(3))
    );
    assert_eq!(file.for_platform("beta").flag("made-for-kids"), Some(false));
    let err = parse("alpha: { cover_at: soon }\n").unwrap_err();
    assert!(err.message().contains(":1:"), "{}", err.message());
    let err = parse("beta: { made_for_kids: maybe }\n").unwrap_err();
    assert!(err.message().contains(":1:"), "{}", err.message());
}

#[test]
fn unknown_keys_name_file_line_and_column() {
    let err = parse("title: T\ntitel: typo\n").unwrap_err();
    assert!(
        err.message().starts_with("/clips/reel.keryx.yaml:2:"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("unknown key `titel`"),
        "{}",
        err.message()
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("alpha, beta"), "{hint}");
    assert!(hint.contains("branded_content"), "{hint}");
    assert_eq!(err.exit_code(), 2);

    // An option of another platform in a section is unknown there, with what it takes.
    let err = parse("title: T\nalpha:\n  privacy: x\n  category: \"1\"\n").unwrap_err();
    assert!(err.message().contains(":4:"), "{}", err.message());
    assert!(
        err.message()
            .ends_with("unknown key `category` in the alpha section"),
        "{}",
        err.message()
    );
    assert!(
        err.hint().unwrap().contains("branded_content, cover_at"),
        "{:?}",
        err.hint()
    );

    // A platform keryx does not know is an unknown key, not a silent no-op.
    let err = parse("gamma: { title: T }\n").unwrap_err();
    assert!(err.message().contains(":1:"), "{}", err.message());
    assert!(err.message().contains("`gamma`"), "{}", err.message());

    let err = parse("ai_generated: maybe\n").unwrap_err();
    assert!(err.message().contains(":1:"), "{}", err.message());
    let err = parse("title: a\ntitle: b\n").unwrap_err();
    assert!(err.message().contains("title"), "{}", err.message());
    assert!(parse("- just\n- a list\n").is_err());
}

#[test]
fn empty_files_and_empty_sections() {
    assert_eq!(parse("").unwrap().shared, Metadata::default());
    assert_eq!(
        parse("# nothing yet\n\n").unwrap().shared,
        Metadata::default()
    );
    let file = parse("alpha:\ntitle: T\n").unwrap();
    assert_eq!(file.platforms["alpha"], Metadata::default());
    assert_eq!(file.for_platform("alpha").title.as_deref(), Some("T"));
}

#[test]
fn relative_paths_are_beside_the_file() {
    let file = parse("thumbnail: thumb.jpg\nbeta: { thumbnail: /abs/b.png }\n").unwrap();
    assert_eq!(
        file.shared.path("thumbnail"),
        Some(Path::new("/clips/thumb.jpg"))
    );
    assert_eq!(
        file.for_platform("beta").path("thumbnail"),
        Some(Path::new("/abs/b.png"))
    );
}

#[test]
fn sidecars_beside_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("reel.mp4");
    assert_eq!(MetadataFile::beside(&video).unwrap(), None);
    let short = dir.path().join("reel.keryx.yaml");
    std::fs::write(&short, "title: T\n").unwrap();
    assert_eq!(MetadataFile::beside(&video).unwrap(), Some(short.clone()));
    let long = dir.path().join("reel.mp4.keryx.yaml");
    std::fs::write(&long, "title: T\n").unwrap();
    assert!(MetadataFile::beside(&video).is_err());
    std::fs::remove_file(&short).unwrap();
    assert_eq!(MetadataFile::beside(&video).unwrap(), Some(long));
    let err = MetadataFile::load(&dir.path().join("nope.yaml"), SCHEMA).unwrap_err();
    assert!(err.message().contains("does not exist"));
}
