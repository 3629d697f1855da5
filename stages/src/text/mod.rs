//! Text tools shared by the stages, each in one place: words between white space
//! ([`words`]), lower-casing ([`lower`]) and the shipped stop words ([`stopwords`]).

pub mod lower;
pub mod stopwords;
pub(crate) mod words;
