"""Context-word lists shared by several detectors (identifiers.md §5)."""

ID_CONTEXT = ("身份证", "身份证号", "身份证号码", "居民身份证", "公民身份号码", "身份号码", "证件号", "证件号码",
              "证件号碼", "身份證", "身份證號", "二代证", "居住证", "社保号", "社会保障号码", "驾驶证号",
              "id card", "id no", "id_no", "idcard", "id_number", "idno", "identity", "citizen id", "national id",
              "sfz", "sfzh", "sfzhm", "zjhm", "cert_no", "certno")
PASSPORT_CONTEXT = ("护照", "护照号", "护照号码", "護照", "特区护照", "passport", "passport no", "passport_no", "hzh")
PERMIT_CONTEXT = ("回乡证", "港澳居民来往内地通行证", "来往内地通行证", "通行证", "港澳通行证", "往来港澳通行证",
                  "台胞证", "台湾居民来往大陆通行证", "往来台湾通行证", "home return permit", "mainland travel permit",
                  "exit-entry permit", "permit_no")
MOBILE_CONTEXT = ("手机", "手机号", "手机号码", "手机号碼", "电话", "电话号码", "联系电话", "联系方式", "移动电话", "手機",
                  "電話", "mobile", "phone", "cell", "tel", "contact", "sjh", "lxdh")
CARD_CONTEXT = ("银行卡", "银行卡号", "卡号", "储蓄卡", "借记卡", "信用卡", "银联", "账号", "帐号", "账户", "开户行", "开户账号",
                "收款账号", "bank card", "card no", "card_no", "cardno", "account no", "acct", "pan", "yhkh", "bank_card")
DEVICE_CONTEXT = ("设备号", "设备id", "设备标识", "串号", "imei", "meid", "device_id", "deviceid")
DIGITS = "0123456789"
#: common single-character surnames, and the compound ones that start a name
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官")
