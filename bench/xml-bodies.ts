/**
 * The bodies of the xml-flood scenario (issue 11, item 4): the 0.94 MB SOAP message with
 * 120,000 elements, a JSON body of the same size and shape, and a legacy ERP's batch with
 * attributes (what the default limits must let through).
 */

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const ELEMENTS = 120_000;

/** `<OrderCreated>` with an id, a count and 119,995 `<L>1</L>`: 120,000 elements, 0.96 MB. */
export function floodXml(elements = ELEMENTS): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope xmlns:s="${SOAP11}"><s:Body><OrderCreated><OrderId>A-1</OrderId><Count>${elements}</Count>${'<L>1</L>'.repeat(elements - 5)}</OrderCreated></s:Body></s:Envelope>`,
  );
}

/** The same as JSON: `{ "OrderCreated": { "OrderId", "Count", "L": [120,000 × { "n": 1 }] } }`, 0.96 MB. */
export function floodJson(items = ELEMENTS): Buffer {
  return Buffer.from(
    `{"OrderCreated":{"OrderId":"A-1","Count":${items},"L":[${Array(items).fill('{"n":1}').join(',')}]}}`,
  );
}

/** A pretty-printed SOAP batch of order lines with attributes: 4,000 lines are 0.94 MB. */
export function erpBatchXml(lines: number): Buffer {
  const line = (i: number) =>
    `\n      <Line no="${i + 1}" sku="WIDGET-${i}" uom="EA">\n        <Qty>2</Qty>\n        <Price currency="EUR">9.99</Price>\n        <Description>Widget ${i} &amp; fittings</Description>\n        <Delivery date="2025-03-31" plant="1000"/>\n      </Line>`;
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="${SOAP11}">
  <soapenv:Body>
    <OrderCreated xmlns="urn:erp:orders" batch="B-1">
      <OrderId>B-1</OrderId>
      <Count>${lines}</Count>${Array.from({ length: lines }, (_, i) => line(i)).join('')}
    </OrderCreated>
  </soapenv:Body>
</soapenv:Envelope>`);
}
