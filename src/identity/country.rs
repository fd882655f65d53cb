//! Country tables: every ISO 3166-1 alpha-2 code with its calling code and trunk prefix, and the country
//! names people type. Kept as two strings, not maps, because they ship in the Wasm.

/// Every ISO 3166-1 alpha-2 code (tzdata `iso3166.tab`, 249 codes), each followed by its calling code
/// (ITU-T E.164) and how a national number is written there (Google's libphonenumber metadata):
/// - no suffix: the national trunk prefix is `0` (`020 7946 0018` in GB is `+44 20 7946 0018`);
/// - `/8`: the trunk prefix is `8` (RU, KZ, BY), `06` (HU), `1` (the NANP countries), `01` (MX, old style);
/// - `=9`: national numbers have at most 9 digits, so a longer number is already international. Without a
///   `/` the country has no trunk prefix and a leading `0` belongs to the number (IT `06…` is `+39 06…`).
///
/// `bv` and `hm` have no calling code. BR (`/0=11`) keeps its trunk `0` and carries a length, because
/// Brazilians often type the area code without the `0`.
const CODES: &str = "ad376=9 ae971 af93 ag1/1=10 ai1/1=10 al355 am374 ao244=9 aq672=6 ar54 as1/1=10 at43 au61 \
aw297=7 ax358 az994 ba387 bb1/1=10 bd880 be32 bf226=8 bg359 bh973=8 bi257=8 bj229=8 bl590 bm1/1=10 bn673=7 \
bo591 bq599=7 br55/0=11 bs1/1=10 bt975=8 bv bw267=8 by375/8 bz501=7 ca1/1=10 cc61 cd243 cf236=8 cg242=9 ch41 \
ci225=10 ck682=5 cl56=9 cm237=9 cn86 co57 cr506=8 cu53 cv238=7 cw599=8 cx61 cy357=8 cz420=9 de49 dj253=8 \
dk45=8 dm1/1=10 do1/1=10 dz213 ec593 ee372=8 eg20 eh212 er291 es34=9 et251 fi358 fj679=7 fk500=5 fm691=7 \
fo298=6 fr33 ga241=8 gb44 gd1/1=10 ge995 gf594 gg44 gh233 gi350=8 gl299=6 gm220=7 gn224=9 gp590 gq240=9 \
gr30=10 gs500=5 gt502=8 gu1/1=10 gw245=9 gy592=7 hk852=8 hm hn504=8 hr385 ht509=8 hu36/06 id62 ie353 il972 \
im44 in91 io246=7 iq964 ir98 is354=9 it39=11 je44 jm1/1=10 jo962 jp81 ke254 kg996 kh855 ki686 km269=7 \
kn1/1=10 kp850 kr82 kw965=8 ky1/1=10 kz7/8 la856 lb961 lc1/1=10 li423 lk94 lr231 ls266=8 lt370/8 lu352=11 \
lv371=8 ly218 ma212 mc377 md373 me382 mf590 mg261 mh692/1 mk389 ml223=8 mm95 mn976 mo853=8 mp1/1=10 mq596 \
mr222=8 ms1/1=10 mt356=8 mu230=8 mv960=7 mw265 mx52/01=10 my60 mz258=9 na264 nc687=6 ne227=8 nf672=6 ng234 \
ni505=8 nl31 no47=8 np977 nr674=7 nu683=7 nz64 om968=8 pa507=8 pe51 pf689=8 pg675=8 ph63 pk92 pl48=9 pm508 \
pn64 pr1/1=10 ps970 pt351=9 pw680=7 py595 qa974=8 re262 ro40 rs381 ru7/8 rw250 sa966 sb677=7 sc248=7 sd249 \
se46 sg65=8 sh290=5 si386 sj47=8 sk421 sl232 sm378=10 sn221=9 so252 sr597=7 ss211 st239=7 sv503=8 sx1/1=10 \
sy963 sz268=8 tc1/1=10 td235=8 tf262 tg228=8 th66 tj992=9 tk690=7 tl670=8 tm993/8 tn216=8 to676=7 tr90 \
tt1/1=10 tv688=7 tw886 tz255 ua380 ug256 um1/1=10 us1/1=10 uy598 uz998/8 va39=11 vc1/1=10 ve58 vg1/1=10 \
vi1/1=10 vn84 vu678=7 wf681=6 ws685=10 ye967 yt262 za27 zm260 zw263";

/// Names and other codes people type, letters only (`United-States` and `U.S.A.` arrive as `unitedstates`
/// and `usa`): English short names, common long forms, a few native names and big markets' alpha-3 codes.
const NAMES: &str = "us:unitedstates,unitedstatesofamerica,usa,america \
gb:unitedkingdom,uk,greatbritain,britain,england,scotland,wales,northernireland,gbr \
ca:canada,can au:australia,aus nz:newzealand,nzl ie:ireland,irl,eire de:germany,deutschland,deu,ger \
fr:france,fra es:spain,espana,esp it:italy,italia,ita nl:netherlands,thenetherlands,holland,nederland,nld \
be:belgium,belgique,belgie,bel ch:switzerland,schweiz,suisse,svizzera,che at:austria,osterreich,aut \
se:sweden,sverige,swe no:norway,norge,nor dk:denmark,danmark,dnk fi:finland,suomi,fin is:iceland \
pl:poland,polska,pol pt:portugal,prt gr:greece,grc cz:czechia,czechrepublic,cze sk:slovakia hu:hungary \
ro:romania bg:bulgaria hr:croatia si:slovenia rs:serbia ba:bosniaandherzegovina,bosnia me:montenegro \
mk:northmacedonia,macedonia al:albania ee:estonia lv:latvia lt:lithuania lu:luxembourg mt:malta \
cy:cyprus mc:monaco li:liechtenstein ad:andorra sm:sanmarino va:vatican,vaticancity,holysee \
ua:ukraine by:belarus md:moldova ru:russia,russianfederation,rus ge:georgia am:armenia az:azerbaijan \
tr:turkey,turkiye,tur il:israel ps:palestine lb:lebanon jo:jordan sy:syria iq:iraq ir:iran \
sa:saudiarabia,sau ae:unitedarabemirates,uae,are qa:qatar kw:kuwait bh:bahrain om:oman ye:yemen \
eg:egypt ly:libya tn:tunisia dz:algeria ma:morocco eh:westernsahara sd:sudan ss:southsudan et:ethiopia \
er:eritrea dj:djibouti so:somalia ke:kenya ug:uganda tz:tanzania rw:rwanda bi:burundi \
cd:democraticrepublicofthecongo,drcongo,drc cg:congo,republicofthecongo ga:gabon cm:cameroon \
cf:centralafricanrepublic td:chad ne:niger ng:nigeria,nga gh:ghana ci:cotedivoire,ivorycoast tg:togo \
bj:benin bf:burkinafaso ml:mali sn:senegal gm:gambia gw:guineabissau gn:guinea sl:sierraleone lr:liberia \
mr:mauritania cv:capeverde,caboverde st:saotomeandprincipe gq:equatorialguinea ao:angola zm:zambia \
zw:zimbabwe mw:malawi mz:mozambique mg:madagascar mu:mauritius sc:seychelles km:comoros yt:mayotte \
re:reunion za:southafrica,zaf na:namibia bw:botswana ls:lesotho sz:eswatini,swaziland \
sh:sainthelena io:britishindianoceanterritory in:india,ind pk:pakistan bd:bangladesh lk:srilanka np:nepal \
bt:bhutan mv:maldives af:afghanistan kz:kazakhstan uz:uzbekistan tm:turkmenistan kg:kyrgyzstan \
tj:tajikistan cn:china,chn hk:hongkong mo:macau,macao tw:taiwan jp:japan,jpn kr:southkorea,korea,kor \
kp:northkorea mn:mongolia vn:vietnam la:laos kh:cambodia th:thailand mm:myanmar,burma my:malaysia \
sg:singapore,sgp id:indonesia,idn bn:brunei ph:philippines tl:easttimor,timorleste pg:papuanewguinea \
fj:fiji sb:solomonislands vu:vanuatu nc:newcaledonia pf:frenchpolynesia ws:samoa as:americansamoa \
to:tonga tv:tuvalu ki:kiribati nr:nauru mh:marshallislands fm:micronesia pw:palau gu:guam \
mp:northernmarianaislands ck:cookislands nu:niue tk:tokelau wf:wallisandfutuna nf:norfolkisland \
pn:pitcairn cx:christmasisland cc:cocosislands,cocoskeelingislands mx:mexico,mex gt:guatemala bz:belize \
sv:elsalvador hn:honduras ni:nicaragua cr:costarica pa:panama cu:cuba jm:jamaica ht:haiti \
do:dominicanrepublic pr:puertorico bs:bahamas bb:barbados tt:trinidadandtobago dm:dominica gd:grenada \
lc:saintlucia vc:saintvincentandthegrenadines ag:antiguaandbarbuda kn:saintkittsandnevis ai:anguilla \
ms:montserrat vg:britishvirginislands vi:usvirginislands ky:caymanislands tc:turksandcaicosislands \
bm:bermuda aw:aruba cw:curacao sx:sintmaarten bq:bonaire bl:saintbarthelemy mf:saintmartin \
gp:guadeloupe mq:martinique gf:frenchguiana pm:saintpierreandmiquelon gl:greenland fo:faroeislands \
ax:alandislands sj:svalbardandjanmayen gg:guernsey je:jersey im:isleofman gi:gibraltar \
br:brazil,brasil,bra ar:argentina,arg cl:chile co:colombia pe:peru ve:venezuela ec:ecuador bo:bolivia \
py:paraguay uy:uruguay gy:guyana sr:suriname fk:falklandislands gs:southgeorgia aq:antarctica \
bv:bouvetisland hm:heardislandandmcdonaldislands tf:frenchsouthernterritories \
um:unitedstatesminoroutlyingislands";

/// How a country writes phone numbers: its calling code, national trunk prefix and, where known, the
/// longest national number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialing {
    /// The calling code's digits (`44`).
    pub code: &'static str,
    /// Dialled before a national number and dropped in the international form (`0`), or empty.
    pub trunk: &'static str,
    /// The longest national number (without the trunk prefix), where the table knows it.
    pub max_national: Option<usize>,
}

/// The table entry for a lowercase alpha-2 code. Every country and phone of every hit asks, so the entries are
/// split once per isolate and searched by halves (a scan of the text cost ~5 µs a lookup, measured).
fn entry(alpha2: &str) -> Option<&'static str> {
    static ENTRIES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let entries = ENTRIES.get_or_init(|| CODES.split(' ').filter(|e| e.len() >= 2).collect());
    if alpha2.len() != 2 {
        return None;
    }
    let i = entries
        .binary_search_by(|e| e.as_bytes()[..2].cmp(alpha2.as_bytes()))
        .ok()?;
    Some(entries[i])
}

/// Whether `code` (lowercase) is an ISO 3166-1 alpha-2 country code.
pub fn is_alpha2(code: &str) -> bool {
    entry(code).is_some()
}

/// The calling code and trunk prefix of a country given as an alpha-2 code in any case.
pub fn dialing(alpha2: &str) -> Option<Dialing> {
    let rest = &entry(&alpha2.trim().to_ascii_lowercase())?[2..];
    let (rest, max_national) = match rest.split_once('=') {
        Some((r, n)) => (r, n.parse().ok()),
        None => (rest, None),
    };
    let (code, trunk) = match rest.split_once('/') {
        Some((c, t)) => (c, t),
        None if max_national.is_some() => (rest, ""),
        None => (rest, "0"),
    };
    (!code.is_empty()).then_some(Dialing {
        code,
        trunk,
        max_national,
    })
}

/// The alpha-2 code of a country name or alias given as lowercase ASCII letters (`unitedstates`, `uk`).
pub fn from_name(letters: &str) -> Option<&'static str> {
    NAMES.split(' ').find_map(|group| {
        let (code, names) = group.split_once(':')?;
        names.split(',').any(|n| n == letters).then_some(code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_iso_code_once_sorted() {
        // tzdata iso3166.tab lists 249 codes (ISO 3166-1 as of ISO/TC 46 N1108, 2023-04-05).
        let codes: Vec<&str> = CODES.split(' ').map(|e| &e[..2]).collect();
        assert_eq!(codes.len(), 249);
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for code in ["gb", "us", "de", "ss", "sx", "bq", "cw", "aq", "bv"] {
            assert!(is_alpha2(code), "{code}");
        }
        for not_iso in ["uk", "uu", "xk", "eu", "zz", "", "u", "usa"] {
            assert!(!is_alpha2(not_iso), "{not_iso}");
        }
    }

    #[test]
    fn every_name_maps_to_an_iso_code() {
        for group in NAMES.split(' ') {
            let (code, names) = group.split_once(':').expect("code:names");
            assert!(is_alpha2(code), "{group}");
            for name in names.split(',') {
                assert!(name.bytes().all(|b| b.is_ascii_lowercase()), "{group}");
                assert_eq!(from_name(name), Some(code), "{name} is listed once");
            }
        }
    }

    #[test]
    fn dialing_reads_calling_code_and_trunk_prefix() {
        // Calling codes: ITU-T E.164 assignments; trunk prefixes: libphonenumber PhoneNumberMetadata.xml.
        let cases: &[(&str, &str, &str, Option<usize>)] = &[
            ("GB", "44", "0", None),
            ("de", "49", "0", None),
            ("US", "1", "1", Some(10)),
            ("ru", "7", "8", None),
            ("hu", "36", "06", None),
            ("it", "39", "", Some(11)),
            ("no", "47", "", Some(8)),
            ("zw", "263", "0", None),
            ("ad", "376", "", Some(9)),
        ];
        for (cc, code, trunk, max) in cases {
            assert_eq!(
                dialing(cc),
                Some(Dialing {
                    code,
                    trunk,
                    max_national: *max
                }),
                "{cc}"
            );
        }
        assert_eq!(dialing("bv"), None, "Bouvet Island has no calling code");
        assert_eq!(dialing("uk"), None);
        assert_eq!(dialing("u"), None);
    }
}
